"""One-tap acknowledge: the link in a notification opens a page with one button that acknowledges the alert
as the person the message went to.

A GET never acknowledges: mail scanners and chat link previews open every link they see, and one of them
must not stop an escalation. The button is the tap.
"""


from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from server.alerts import service
from server.alerts.service import TransitionError
from server.api.deps import Ctx, Db
from server.auth.users import ACTORS
from server.delivery import links
from server.delivery.outbox import GROUP, STAFF_PREFIX
from server.live import broadcast_alerts
from server.models import Alert
from server.views import alert_out
from server.web.i18n import texts
from server.web.routes import TEMPLATES, who

router = APIRouter(include_in_schema=False)


@router.get("/ack/{token}", response_class=HTMLResponse)
def ack_page(token: str, request: Request, ctx: Ctx, db: Db) -> Response:
    """What the link is about, with the button."""
    return _page(request, ctx, db, token, act=False)


@router.post("/ack/{token}", response_class=HTMLResponse)
def ack(token: str, request: Request, ctx: Ctx, db: Db) -> Response:
    """Acknowledge as the link's recipient; a group's link (a chat robot) needs a login to know who."""
    return _page(request, ctx, db, token, act=True)


def _page(request: Request, ctx: Ctx, db: Db, token: str, *, act: bool) -> Response:
    """Read the link, acknowledge if asked, render the page in the site's language."""
    language = ctx.language
    t = texts(language)
    try:
        link = links.read(ctx.settings.signing_key(), token, ctx.settings.ack_link_hours * 3600)
    except links.LinkError as exc:
        return _render(request, t, language, problem=str(exc), status=400)
    alert = db.get(Alert, link.alert_id)
    if alert is None:
        return _render(request, t, language, problem="this alert no longer exists", status=404)
    if act:
        actor = _actor(request, ctx, db, link)
        if actor is None:
            return RedirectResponse(f"/login?next=/ack/{token}", status_code=303)
        try:
            service.acknowledge(db, alert.id, actor=actor, at=ctx.clock(), note="one-tap link")
        except TransitionError:
            pass  # someone was quicker: the page says who
        else:
            db.commit()
            broadcast_alerts(ctx, [alert])
    shown = alert_out(alert, ctx.facility, language, with_events=False)
    return _render(request, t, language, alert=shown, done=alert.status != service.Status.OPEN)


def _actor(request: Request, ctx: Ctx, db: Db, link: links.AckLink) -> str | None:
    """Who acknowledges: the staff member the message went to, or the logged-in user for a group's link (and
    for every link when the site's policy asks for a login)."""
    if link.recipient != GROUP and not ctx.settings.ack_link_login:
        return f"{STAFF_PREFIX}{link.recipient}"
    user = who(request, ctx, db)
    return user.username if user is not None and user.role in ACTORS else None


def _render(request: Request, t: dict[str, str], language: str, *, status: int = 200, **context: object) -> Response:
    """The ack page."""
    return TEMPLATES.TemplateResponse(request, "ack.html", {"t": t, "lang": language, **context},
                                      status_code=status)
