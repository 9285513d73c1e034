"""Reports: markdown tables, figures, gap tables, latent and hardening reports, docs."""
