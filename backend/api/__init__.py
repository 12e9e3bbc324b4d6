"""API: the JSON blueprint /api/v1 and its generated OpenAPI document; it calls services."""
from . import routes


def init_app(app):
    routes.init_app(app)
    app.register_blueprint(routes.bp)
