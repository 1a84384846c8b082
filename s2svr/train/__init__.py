"""Training and evaluation: the restoration trainer (`trainer`), Algorithm 1's flow trainer (`flow`), their
evaluation (`evaluate`, `flow_evaluate`), data, sampler, checkpoints and distributed helpers."""
