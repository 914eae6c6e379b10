"""The HTC API's route handlers, one module per resource group; ``_app`` assembles them."""
