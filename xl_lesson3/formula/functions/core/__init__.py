"""What every function shares: the registry, shape and coercion rules, operators, value conversions."""
