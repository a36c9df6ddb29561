"""The widgets the screens are made of: the article view and the side panel."""
