"""Shipped data of the building-block library, kept out of the domain modules.

- `catalog`: the curated discovery catalog (business challenges, technical needs and the links
  between them) that `manage.py load_catalog` loads on every start, demo or not.
- `library`: the demo library's content, about forty blocks and the training paths.
- `apply`: `seed`, called by `manage.py seed_demo` once the demo deals exist, writes that library
  through the real services.
"""
