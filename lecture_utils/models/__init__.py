"""Models of the course: small, readable ``nn.Module``s, one family per module."""
