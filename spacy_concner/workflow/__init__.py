"""The workflow steps after training: distillation, evaluation, reports, package meta."""
