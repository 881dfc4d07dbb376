"""Tools that generate pages and run campaigns with the suite (the frameworks page, the
mutants and their kill rate, quiet runs); a user's check never imports them."""
