"""The gateway's routes, one mixin class per service behind them."""
