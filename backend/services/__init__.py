"""Services: the domain (merchants, invoices, numbering, issuance, verification, seeding), called by web and api; they use chain, schemas and core, and never a Flask request."""
