"""Model library: compartmental PK models with closed forms and ODE forms."""
