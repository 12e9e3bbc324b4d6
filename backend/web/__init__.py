"""Web: the HTML portals (blueprints, forms, templates, static files) for merchants, buyers, authority, auditors and the public; they call services."""
from . import (alerts, audit, auth, authority, claims, dashboards, delivery, helpers, inbox, language,
               merchant_portal, onboarding, receivables, reports, two_factor, verification)

BLUEPRINTS = (auth.bp, merchant_portal.bp, verification.bp, audit.bp, authority.bp, receivables.bp, inbox.bp,
              delivery.bp, claims.bp, reports.bp, alerts.bp, dashboards.bp, two_factor.bp, onboarding.bp,
              language.bp)


def init_app(app):
    auth.init_app(app)
    helpers.init_app(app)
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
