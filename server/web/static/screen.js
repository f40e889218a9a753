// carewatch monitoring screen: live alerts and device states over SSE. Plain JS, no build step.
// Every text goes into the DOM through textContent: names and notes come from outside.
"use strict";

(function () {
  const cfg = JSON.parse(document.getElementById("config").textContent);
  const t = cfg.t;
  const RANK = { critical: 0, high: 1, medium: 2, low: 3 };
  // Shapes as well as colours, so severity reads without colour vision.
  const ICON = { critical: "‼", high: "▲", medium: "●", low: "○" };
  const AGE_EVERY_MS = 5000; // suppressions and drills re-render this often
  const TICK_EVERY_MS = 1000; // "12 s ago" must move each second, or the screen looks frozen
  const RETRY_CLOSED_MS = 5000;
  const CLOCK_EVERY_MS = 500; // a drill clock ticks each second; half that keeps it from skipping one
  const DONE_VIEW_MS = 10 * 60 * 1000; // how long a read-only screen shows a drill's result
  const PENDING_MS = 12 * 3600 * 1000; // after a reload, drills given the all-clear this recently ask for a record

  const state = { alerts: new Map(), devices: new Map(), edge: null, suppressions: [], skewMs: 0, live: false };
  const SCOPES = cfg.targets.scopes; // what each kind of suppression may cover, from the server
  const items = new Map(); // alert id -> <li>, reused so focus survives updates
  const drills = {
    running: new Map(), // drill (suppression) id -> suppression, as last shown: one gone missing has ended
    alarms: new Map(), // drill id -> ids of the alerts it muted (a resolved one still counts)
    done: new Map(), // drill id -> the panel with its result (and, for those who may act, the record form)
    asked: false, // whether this page has looked for drills still waiting for their record
    timer: null, // shows a drill the moment it starts
  };
  const $ = (id) => document.getElementById(id);

  // ---- small helpers -------------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Put nodes side by side with a real separator, so screen readers do not run words together.
  function joined(parent, nodes, separator) {
    nodes.forEach((node, i) => {
      if (i > 0) parent.append(separator);
      parent.append(node);
    });
    return parent;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (m, key) => (key in values ? String(values[key]) : m));
  }

  function now() {
    return Date.now() + state.skewMs; // the server's clock, so ages agree with the server
  }

  function ago(iso) {
    const seconds = Math.max(0, Math.floor((now() - Date.parse(iso)) / 1000));
    if (seconds < 10) return t.just_now;
    if (seconds < 60) return fill(t.ago_s, { n: seconds });
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return fill(t.ago_m, { n: minutes });
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return fill(t.ago_h, { h: hours, m: minutes % 60 });
    return fill(t.ago_d, { n: Math.floor(hours / 24) });
  }

  function localTime(iso) {
    try {
      return new Date(iso).toLocaleString(cfg.lang, { timeZone: cfg.tz });
    } catch (e) {
      return new Date(iso).toLocaleString();
    }
  }

  function shortTime(iso) {
    // Hours and minutes at the site; the date too when it is not today there.
    const opts = { timeZone: cfg.tz, hour: "2-digit", minute: "2-digit" };
    const day = (d) => d.toLocaleDateString(cfg.lang, { timeZone: cfg.tz });
    const at = new Date(iso);
    try {
      const today = day(at) === day(new Date(now()));
      return (today ? "" : day(at) + " ") + at.toLocaleTimeString(cfg.lang, opts);
    } catch (e) {
      return at.toLocaleString();
    }
  }

  // An element whose text is "<prefix> <age>" and is refreshed by the ticker.
  function ageNode(tag, className, prefix, iso) {
    const node = el(tag, className);
    node.dataset.at = iso;
    node.dataset.prefix = prefix || "";
    node.title = localTime(iso);
    renderAge(node);
    return node;
  }

  function renderAge(node) {
    const text = ago(node.dataset.at);
    node.textContent = node.dataset.prefix ? node.dataset.prefix + " " + text : text;
  }

  function tickAges() {
    document.querySelectorAll("[data-at]").forEach(renderAge);
  }

  function ours(item) {
    return item && item.site === cfg.site;
  }

  // ---- alerts --------------------------------------------------------------------------------

  function compareAlerts(a, b) {
    // A silenced or drill alert is on record but is no alarm: real ones come first.
    const muted = Number(Boolean(a.muted)) - Number(Boolean(b.muted));
    if (muted !== 0) return muted;
    const rank = (RANK[a.severity] ?? 9) - (RANK[b.severity] ?? 9);
    if (rank !== 0) return rank;
    const age = Date.parse(a.raised_at) - Date.parse(b.raised_at);
    return age !== 0 ? age : a.id - b.id;
  }

  function alertNode(a) {
    const li = items.get(a.id) || el("li");
    items.set(a.id, li);
    const key = JSON.stringify(a);
    if (li.dataset.key === key) return li; // unchanged: keep the node (and any focus in it)
    const focused = li.contains(document.activeElement) ? document.activeElement.dataset.action : null;
    li.dataset.key = key;
    li.dataset.alert = String(a.id);
    li.className = "alert sev-" + a.severity + " status-" + a.status + (a.cleared ? " cleared" : "") +
      (a.muted ? " alert-muted muted-" + a.muted : "");
    li.replaceChildren(alertHead(a), alertMeta(a));
    if (cfg.canAct) li.append(alertActions(a));
    if (focused) (li.querySelector('[data-action="' + focused + '"]') || li.querySelector("button"))?.focus();
    return li;
  }

  function alertHead(a) {
    const icon = el("span", "sev-icon", ICON[a.severity] || "●");
    icon.setAttribute("aria-hidden", "true");
    const sev = joined(el("span", "sev"), [icon, el("span", "", t[a.severity] || a.severity)], " ");
    const title = el("strong", "alert-title", a.title);
    title.id = "alert-" + a.id + "-title";
    // An alert about a room (a bathroom) names it once, not as "subject · room".
    const where = [...new Set([cfg.names[a.subject] || a.subject_name, a.room_name].filter(Boolean))];
    return joined(el("div", "alert-head"), [sev, title, el("span", "alert-where", where.join(" · "))], " ");
  }

  function alertMeta(a) {
    const parts = [ageNode("span", "age", t.raised, a.raised_at)];
    if (a.status === "acknowledged") {
      parts.push(el("span", "status", "✓ " + t.acked_by + " " + (a.acked_by || "?")));
      if (a.acked_at) parts.push(ageNode("span", "acked-age", t.acked_ago, a.acked_at));
    } else {
      parts.push(el("span", "status status-open-label", t[a.status] || a.status));
    }
    if (a.cleared) parts.push(el("span", "cleared-mark", "✓ " + t.cleared));
    if (a.muted) parts.push(el("span", "muted-mark", a.muted === "drill" ? t.drill_tag : t.silenced));
    if (a.occurrences > 1) parts.push(el("span", "count", fill(t.times, { n: a.occurrences })));
    return joined(el("div", "alert-meta"), parts, " · ");
  }

  function alertActions(a) {
    const box = el("div", "actions");
    if (a.status === "open") box.append(actionButton(a, "ack", t.acknowledge, "primary"));
    if (a.rule === "repositioning_due" && !a.cleared) box.append(actionButton(a, "turned", t.turned, ""));
    box.append(actionButton(a, "resolve", t.resolve, ""));
    return box;
  }

  function actionButton(a, action, label, className) {
    const button = el("button", className, label);
    button.type = "button";
    button.dataset.action = action;
    button.setAttribute("aria-describedby", "alert-" + a.id + "-title");
    const act = { ack: () => acknowledge(a.id, button), turned: () => logTurn(a, button), resolve: () => askResolve(a.id) };
    button.addEventListener("click", act[action]);
    return button;
  }

  function renderAlerts() {
    const list = $("alerts");
    const sorted = [...state.alerts.values()].sort(compareAlerts);
    for (const [id, li] of items) {
      if (!state.alerts.has(id)) {
        li.remove();
        items.delete(id);
      }
    }
    sorted.forEach((a, i) => {
      const li = alertNode(a);
      if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
    });
    $("all-well").hidden = !state.live || sorted.length > 0;
    $("alert-count").textContent = sorted.length ? "(" + sorted.length + ")" : "";
    countDrillAlarms();
    document.title = (sorted.length ? "(" + sorted.length + ") " : "") + t.title;
    markPlan(sorted.filter((a) => !a.muted));
    window.CarewatchSound.want(sorted.some(ringing));
  }

  // Only a real, unacknowledged critical alarm rings: acknowledging it is what stops the sound.
  function ringing(a) {
    return a.severity === "critical" && a.status === "open" && !a.muted;
  }

  // A new alarm is read out by screen readers once; the list itself stays quiet while it updates.
  function announce(a) {
    if (a.muted || a.status !== "open") return;
    const where = [cfg.names[a.subject] || a.subject_name, a.room_name].filter(Boolean);
    $("announce").textContent = t.new_alert + [t[a.severity] || a.severity, a.title, ...where].join(" · ");
  }

  function putAlert(a) {
    if (!ours(a)) return;
    if (!state.alerts.has(a.id)) announce(a);
    noteDrillAlarm(a);
    if (a.status === "resolved") state.alerts.delete(a.id);
    else state.alerts.set(a.id, a);
  }

  // ---- the floor plan: alerts where they happen ----------------------------------------------

  // The bed, device or zone an alert is about: a vital sign's subject is "<bed>/hr", a watch's "<device>/<id>".
  function subjectOf(a) {
    return String(a.subject).split("/")[0];
  }

  function overdue(bed) {
    return [...state.alerts.values()].some((a) => a.rule === "out_of_bed_too_long" && a.subject === bed);
  }

  // `alarms` are the open, real alerts, most urgent first: each room and thing on the plan shows its worst.
  function markPlan(alarms) {
    markRooms(alarms);
    document.querySelectorAll(".plan [data-device], .plan [data-bed], .plan [data-zone]").forEach((node) => {
      const ids = [node.dataset.device, node.dataset.bed, node.dataset.zone].filter(Boolean);
      markThing(node, alarms.filter((a) => ids.includes(subjectOf(a))));
    });
    document.querySelectorAll('.plan [data-kind="bed_sensor"]').forEach((tile) => renderDevice(tile.dataset.device));
  }

  function markRooms(alarms) {
    document.querySelectorAll("[data-room-alarm]").forEach((slot) => {
      const here = alarms.filter((a) => a.room === slot.dataset.roomAlarm);
      const room = slot.closest(".room");
      if (!here.length) {
        delete room.dataset.alarm;
        slot.textContent = "";
        return;
      }
      const worst = here[0].severity;
      room.dataset.alarm = worst;
      room.dataset.acked = String(here.every((a) => a.status === "acknowledged"));
      const count = here.length === 1 ? t.room_alert : fill(t.room_alerts, { n: here.length });
      slot.textContent = [ICON[worst] || "●", t[worst] || worst, count].join(" ");
    });
  }

  // A line on the tile saying which alarm it raised, in words and with the severity's shape.
  function markThing(node, alarms) {
    let line = node.querySelector(":scope > .thing-alarm");
    if (!alarms.length) {
      delete node.dataset.alarm;
      if (line) line.remove();
      return;
    }
    node.dataset.alarm = alarms[0].severity;
    if (!line) {
      line = el("span", "thing-alarm");
      node.append(line);
    }
    const a = alarms[0];
    const more = alarms.length > 1 ? " +" + (alarms.length - 1) : "";
    const acked = a.status === "acknowledged" ? " · ✓ " + t.acknowledged : "";
    line.textContent = (ICON[a.severity] || "●") + " " + a.title + more + acked;
  }

  // ---- devices -------------------------------------------------------------------------------

  function num(value, digits) {
    return Number(value).toLocaleString(cfg.lang, { maximumFractionDigits: digits });
  }

  // A number with its unit that never breaks across lines.
  function measure(label, value, digits, unit) {
    return [label, num(value, digits), unit].filter(Boolean).join("\u00a0");
  }

  // What a tile says about a reading: main value, tone (ok/active/warn/bad/unknown), detail parts.
  const DESCRIBE = {
    bed_sensor(s, tile) {
      const vitals = [];
      if (s.heart_rate_bpm != null) vitals.push(measure(t.heart_rate, s.heart_rate_bpm, 0, t.per_min));
      if (s.respiration_rpm != null) vitals.push(measure(t.respiration, s.respiration_rpm, 0, t.per_min));
      if (s.occupied == null) return { value: t.unknown, tone: "unknown", detail: vitals };
      if (s.occupied) return { value: t.occupied, tone: "ok", detail: vitals };
      if (overdue(tile.dataset.bed)) return { value: "‼ " + t.out_too_long, tone: "bad", detail: t.empty };
      return { value: "↑ " + t.empty, tone: "warn", detail: "" };
    },
    power_plug(s, tile) {
      // "On" means drawing power, as the rules judge it: a relay left on at 1 W is standing by, not cooking.
      const threshold = Number(tile.dataset.onW || 30);
      const watts = s.power_w != null ? measure("", s.power_w, 0, "W") : "";
      if (s.power_w != null && s.power_w > threshold) return { value: "● " + t.on, tone: "active", detail: watts };
      if (s.on === true && s.power_w != null) return { value: "◐ " + t.standby, tone: "ok", detail: watts };
      if (s.on === true) return { value: "● " + t.on, tone: "active", detail: watts };
      if (s.on === false || s.power_w != null) return { value: "○ " + t.off, tone: "ok", detail: watts };
      return { value: t.unknown, tone: "unknown", detail: watts };
    },
    temperature_sensor(s, tile) {
      if (s.temperature_c == null) return { value: t.unknown, tone: "unknown", detail: "" };
      const c = s.temperature_c;
      const value = measure("", c, 1, "°C");
      if (tile.dataset.max !== undefined && c > Number(tile.dataset.max)) {
        return { value: "▲ " + value, tone: "bad", detail: t.above_limit };
      }
      if (tile.dataset.min !== undefined && c < Number(tile.dataset.min)) {
        return { value: "▼ " + value, tone: "bad", detail: t.below_limit };
      }
      return { value, tone: "ok", detail: s.humidity_pct != null ? measure("", s.humidity_pct, 0, "%RH") : "" };
    },
    presence_sensor: (s) => flag(s.occupied, t.present, "active", t.absent, "ok"),
    leak_sensor: (s) => flag(s.leak, "‼ " + t.leak, "bad", t.dry, "ok"),
    smoke_detector: (s) => flag(s.smoke, "‼ " + t.smoke, "bad", t.no_smoke, "ok"),
    door_contact: (s) => flag(s.open, "◧ " + t.door_open, "warn", t.door_closed, "ok"),
    sos_button: () => ({ value: t.sos_ready, tone: "ok", detail: "" }),
    camera(s) {
      // A symbol and a word for every state: colour is never the only signal.
      const stats = s.stats ? measure("", s.stats.fps_analysed, 1, "fps") : "";
      if (s.camera_state == null) return { value: t.unknown, tone: "unknown", detail: "" };
      if (s.camera_state === "ok") return { value: "● " + t.cam_ok, tone: "ok", detail: stats };
      return { value: "⚠ " + (t["cam_" + s.camera_state] || s.camera_state), tone: "bad", detail: stats };
    },
  };

  // A camera works when its edge reports it and it says ok; a zone is covered when a working camera sees it.
  function cameraState(id) {
    const d = state.devices.get(id);
    if (!d || !d.last_seen) return null;
    if (!d.online) return "offline";
    return (d.state || {}).camera_state || null;
  }

  function renderCoverage() {
    const line = document.getElementById("coverage");
    if (!line) return;
    const zones = line.dataset.zones.split(" ").filter(Boolean);
    const cams = [...document.querySelectorAll('[data-kind="camera"]')].map((tile) =>
      ({ sees: (tile.dataset.sees || "").split(" "), state: cameraState(tile.dataset.device) }));
    const covered = [], gaps = [], unknown = [];
    for (const zone of zones) {
      const states = cams.filter((c) => c.sees.includes(zone)).map((c) => c.state);
      if (states.includes("ok")) covered.push(zone);
      else if (states.includes(null)) unknown.push(zone);
      else gaps.push(zone);
    }
    const parts = [fill(t.coverage_line, { covered: covered.length, total: zones.length })];
    if (gaps.length) parts.push(t.coverage_gaps + gaps.map((z) => cfg.zoneNames[z] || z).join(", "));
    if (unknown.length) parts.push(fill(t.coverage_unknown, { n: unknown.length }));
    line.textContent = parts.join(" · ");
    line.className = "coverage " + (gaps.length ? "tone-bad" : unknown.length ? "tone-unknown" : "tone-ok");
    paintZones(new Set(covered), new Set(gaps));
  }

  // Each room names the zones a camera should see there, with a word for their state (not only a colour).
  function paintZones(covered, gaps) {
    document.querySelectorAll("[data-zone]").forEach((chip) => {
      const zone = chip.dataset.zone;
      const [tone, word] = covered.has(zone) ? ["ok", "✓ " + t.zone_seen]
        : gaps.has(zone) ? ["bad", "⚠ " + t.zone_gap] : ["unknown", t.zone_unknown];
      chip.className = "zone tone-" + tone;
      chip.querySelector(".zone-state").textContent = word;
    });
  }

  function flag(value, yes, yesTone, no, noTone) {
    if (value == null) return { value: t.unknown, tone: "unknown", detail: "" };
    return value ? { value: yes, tone: yesTone, detail: "" } : { value: no, tone: noTone, detail: "" };
  }

  function describe(d, tile) {
    if (!d || !d.last_seen) return { value: t.no_data, tone: "unknown", detail: "" };
    if (!d.online) return { value: "⚠ " + t.offline, tone: "offline", detail: "" }; // an old reading would mislead
    const how = DESCRIBE[tile.dataset.kind];
    return how ? how(d.state || {}, tile) : { value: t.online, tone: "ok", detail: "" };
  }

  function connection(d) {
    const box = el("span", "conn");
    if (!d || !d.last_seen) return box;
    if (!d.online) return joined(box, [ageNode("span", "", t.last_seen, d.last_seen)], "");
    const parts = [el("span", "", t.online)];
    if (d.battery_pct != null) {
      const low = d.battery_pct < 20;
      parts.push(el("span", low ? "battery-low" : "",
        measure(low ? "⚠ " + t.battery_low : t.battery, d.battery_pct, 0, "%")));
    }
    return joined(box, parts, " · ");
  }

  function paintTile(tile, said, conn) {
    tile.className = tile.className.replace(/\btone-\w+/g, "").trim() + " tone-" + said.tone;
    tile.querySelector(".value").textContent = said.value;
    const detail = tile.querySelector(".detail");
    detail.replaceChildren();
    joined(detail, [].concat(said.detail || []).map((part) => el("span", "", part)), " · ");
    tile.querySelector(".conn").replaceWith(conn);
  }

  function renderDevice(id) {
    document.querySelectorAll('[data-device="' + CSS.escape(id) + '"]').forEach((tile) => {
      const d = state.devices.get(id);
      paintTile(tile, describe(d, tile), connection(d));
    });
  }

  function renderEdge() {
    const tile = document.querySelector('[data-edge="' + CSS.escape(cfg.site) + '"]');
    if (!tile) return;
    const e = state.edge;
    const conn = el("span", "conn");
    if (e && e.heartbeat_at) conn.append(ageNode("span", "", t.heartbeat, e.heartbeat_at));
    if (!e || e.online == null) return paintTile(tile, { value: t.no_data, tone: "unknown", detail: "" }, conn);
    paintTile(tile, e.online ? { value: t.online, tone: "ok", detail: "" }
      : { value: "⚠ " + t.offline, tone: "bad", detail: "" }, conn);
  }

  function renderAllDevices() {
    document.querySelectorAll("[data-device]").forEach((tile) => renderDevice(tile.dataset.device));
    renderEdge();
    renderCoverage();
  }

  // ---- silences, maintenance, drills ---------------------------------------------------------

  function targetName(scope, id) {
    const found = (cfg.targets[scope] || []).find((x) => x.id === id);
    return found ? found.name : id;
  }

  function suppressionNode(x) {
    const what = (t["mode_" + x.mode] || x.mode).split(/[（(]/)[0].trim();
    const where = x.scope === "site" ? t.scope_site : targetName(x.scope, x.target);
    const li = el("li", "suppression mode-" + x.mode);
    li.append(joined(el("span"), [el("strong", "", what), el("span", "", where),
      el("span", "", (Date.parse(x.starts_at) > now() ? t.from + " " + shortTime(x.starts_at) + " " : "") +
        t.until + " " + shortTime(x.ends_at)), el("span", "", x.reason),
      el("span", "", t.by + " " + x.author)], " · "));
    if (cfg.canAct) {
      const button = el("button", "", t.end);
      button.type = "button";
      button.addEventListener("click", () => run(button, () => endSuppression(x.id)));
      li.append(" ", button);
    }
    return li;
  }

  function renderSuppressions() {
    const nowMs = now();
    const live = state.suppressions.filter((x) => Date.parse(x.ends_at) > nowMs && x.site === cfg.site)
      .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
    $("suppression-list").replaceChildren(...live.map(suppressionNode));
    $("suppressions").hidden = live.length === 0;
    renderDrills();
  }

  async function endSuppression(id) {
    const response = await fetch("/api/v1/suppressions/" + encodeURIComponent(id) + "/end",
                                 { method: "POST", credentials: "same-origin" });
    if (response.status === 401) return logInAgain();
    if (response.status === 403) return notify(t.not_allowed);
    if (!response.ok && response.status !== 409) return notify(t.action_failed);
    state.suppressions = state.suppressions.filter((x) => x.id !== id);
    renderSuppressions();
  }

  function fillTargets() {
    const form = $("suppress-dialog").querySelector("form");
    const mode = form.elements.mode.value;
    for (const option of form.elements.scope.options) option.disabled = !SCOPES[mode].includes(option.value);
    if (form.elements.scope.selectedOptions[0].disabled) form.elements.scope.value = SCOPES[mode][0];
    const scope = form.elements.scope.value;
    const target = form.elements.target;
    target.replaceChildren(...(cfg.targets[scope] || []).map((x) => {
      const option = el("option", "", x.name);
      option.value = x.id;
      return option;
    }));
    target.disabled = scope === "site";
  }

  function askSuppress() {
    const dialog = $("suppress-dialog");
    dialog.querySelector("form").reset();
    fillTargets();
    dialog.returnValue = "";
    dialog.showModal();
  }

  async function onSuppressClosed() {
    const dialog = $("suppress-dialog");
    if (dialog.returnValue !== "confirm") return;
    const form = dialog.querySelector("form");
    const body = { site: cfg.site, mode: form.elements.mode.value, scope: form.elements.scope.value,
                   minutes: Number(form.elements.minutes.value), reason: form.elements.reason.value.trim() };
    if (body.scope !== "site") body.target = form.elements.target.value;
    const response = await fetch("/api/v1/suppressions", {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (response.status === 401) return logInAgain();
    if (!response.ok) return notify(await reason(response));
    const created = await response.json();
    state.suppressions = [...state.suppressions.filter((x) => x.id !== created.id), created];
    renderSuppressions();
  }

  async function reason(response) {
    // The server says why it refused (in English); fall back to our own words.
    try {
      const detail = (await response.json()).detail;
      if (typeof detail === "string") return t.action_failed + ": " + detail;
    } catch (e) {
      // not JSON
    }
    return response.status === 403 ? t.not_allowed : t.action_failed;
  }

  async function logTurn(a, button) {
    return run(button, async () => {
      const response = await fetch("/api/v1/beds/" + encodeURIComponent(a.subject) + "/turns", {
        method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ site: a.site }),
      });
      if (response.status === 401) return logInAgain();
      if (response.status === 403) return notify(t.not_allowed);
      notify(response.ok ? t.turn_logged : t.action_failed);
    });
  }

  // ---- fire drills: banner, clock, all-clear, record -----------------------------------------

  function runningDrills() {
    const nowMs = now();
    return state.suppressions.filter((x) => x.mode === "drill" && x.site === cfg.site &&
      Date.parse(x.starts_at) <= nowMs && Date.parse(x.ends_at) > nowMs);
  }

  function drillWhere(x) {
    return x.scope === "site" ? t.scope_site : targetName(x.scope, x.target);
  }

  // "mm:ss" (h:mm:ss past an hour): the clock and the evacuation time read alike.
  function clockText(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const pad = (n) => String(n).padStart(2, "0");
    const mmss = pad(Math.floor((s % 3600) / 60)) + ":" + pad(s % 60);
    return s >= 3600 ? Math.floor(s / 3600) + ":" + mmss : mmss;
  }

  // Counted from the server's start time on the server's clock, so a reload or a second screen agrees.
  function tickClocks() {
    const nowMs = now();
    document.querySelectorAll(".drill-clock[data-since]").forEach((node) => {
      const text = clockText(nowMs - Date.parse(node.dataset.since));
      if (node.textContent !== text) node.textContent = text;
    });
  }

  function noteDrillAlarm(a) {
    if (a.muted !== "drill" || a.suppression_id == null) return;
    if (!drills.alarms.has(a.suppression_id)) drills.alarms.set(a.suppression_id, new Set());
    drills.alarms.get(a.suppression_id).add(a.id);
  }

  function drillNode(x) {
    const li = el("li", "drill");
    li.dataset.drill = String(x.id);
    const icon = el("span", "drill-icon", "⚑");
    icon.setAttribute("aria-hidden", "true");
    const head = joined(el("div", "drill-head"), [icon, el("strong", "drill-title", t.drill_running),
      el("span", "drill-scenario", x.reason)], " ");
    const where = joined(el("div", "drill-where"), [el("span", "", t.drill_where),
      el("strong", "", drillWhere(x))], "");
    const meta = joined(el("div", "drill-meta"), [el("span", "", fill(t.drill_started,
      { at: shortTime(x.starts_at), by: x.author, until: shortTime(x.ends_at) })),
    el("span", "drill-alarms")], " · ");
    meta.lastChild.dataset.drill = String(x.id);
    const clock = el("span", "drill-clock", clockText(now() - Date.parse(x.starts_at)));
    clock.dataset.since = x.starts_at;
    clock.setAttribute("role", "timer"); // a timer is not read out every second
    clock.setAttribute("aria-label", t.drill_clock);
    const text = el("div", "drill-text");
    text.append(head, where, meta);
    li.append(text, joined(el("div", "drill-time"), [el("span", "", t.drill_clock), clock], " "));
    if (cfg.canAct) li.append(allClearButton(x));
    return li;
  }

  function allClearButton(x) {
    const button = el("button", "primary all-clear", "✓ " + t.all_clear);
    button.type = "button";
    button.addEventListener("click", () => run(button, () => endSuppression(x.id)));
    return button;
  }

  function countDrillAlarms() {
    document.querySelectorAll(".drill-alarms[data-drill]").forEach((node) => {
      const seen = drills.alarms.get(Number(node.dataset.drill));
      node.textContent = fill(t.drill_alarms, { n: seen ? seen.size : 0 });
    });
  }

  // Tiles and rooms of a running drill carry a text tag, not only a colour. A zone's drill covers its
  // room, as the pipeline judges the alarms.
  function markDrillRooms(running) {
    const rooms = new Set(running.map((x) => (x.scope === "zone" ? cfg.zoneRooms[x.target] : x.target || "*")));
    document.querySelectorAll("[data-room]").forEach((node) => {
      const on = rooms.has("*") || rooms.has(node.dataset.room);
      node.classList.toggle("in-drill", on);
      const mark = node.querySelector(".drill-mark");
      if (on && !mark) {
        const tag = el("span", "drill-mark");
        tag.append(" ", el("span", "drill-tag", "⚑ " + t.in_drill));
        if (node.matches("section")) node.querySelector(".room-name").append(tag); // part of the room's heading
        else node.querySelector(".name").after(tag);
      }
      if (!on && mark) mark.remove();
    });
  }

  function renderDrills() {
    const running = runningDrills();
    for (const id of drills.running.keys()) {
      if (!running.some((x) => x.id === id)) drillEnded(id).catch(() => notify(t.action_failed));
    }
    drills.running = new Map(running.map((x) => [x.id, x]));
    const list = $("drill-list");
    const key = JSON.stringify(running);
    if (list.dataset.key !== key) { // rebuilt only on a change, so a focused All-clear button keeps its focus
      list.dataset.key = key;
      list.replaceChildren(...running.map(drillNode));
    }
    markDrillRooms(running);
    countDrillAlarms();
    $("drills").hidden = running.length === 0 && drills.done.size === 0;
    showWhenStarting();
  }

  // A drill just started here can look a few milliseconds ahead of our estimate of the server's clock (the
  // snapshot's time is a little old when it arrives); show it when it starts, not at the next 5-s render.
  function showWhenStarting() {
    const nowMs = now();
    const waits = state.suppressions.filter((x) => x.mode === "drill" && x.site === cfg.site)
      .map((x) => Date.parse(x.starts_at) - nowMs).filter((ms) => ms > 0 && ms < AGE_EVERY_MS);
    clearTimeout(drills.timer);
    if (waits.length) drills.timer = setTimeout(renderSuppressions, Math.min(...waits) + 20);
  }

  async function drillRecords() {
    const response = await fetch("/api/v1/records/drills?site=" + encodeURIComponent(cfg.site),
                                 { credentials: "same-origin" });
    if (response.status === 401) logInAgain();
    return response.ok ? response.json() : [];
  }

  // A drill just ended (here or on another screen): show its measured evacuation time from its record.
  async function drillEnded(id) {
    if (drills.done.has(id)) return;
    const panel = donePanel(id);
    panel.append(el("p", "", t.drill_over));
    const record = (await drillRecords()).find((r) => r.drill === id);
    if (record) showDone(panel, record);
  }

  function donePanel(id) {
    const panel = el("article", "drill-done");
    panel.dataset.drill = String(id);
    drills.done.set(id, panel);
    $("drill-done").append(panel);
    $("drills").hidden = false;
    return panel;
  }

  function dropDone(id) {
    const panel = drills.done.get(id);
    if (panel) panel.remove();
    drills.done.delete(id);
    renderDrills();
  }

  function showDone(panel, r) {
    const evacuation = r.evacuation_s == null ? el("span", "", t.drill_no_all_clear)
      : joined(el("span"), [el("span", "", t.drill_evacuation),
        el("strong", "drill-evacuation", clockText(r.evacuation_s * 1000))], " ");
    const facts = [evacuation, el("span", "", drillWhere(r))];
    if (r.shift) facts.push(el("span", "", t.drill_shift + " " + (cfg.shiftNames[r.shift] || r.shift)));
    facts.push(el("span", "", fill(t.drill_alarms, { n: r.alarms.length })));
    panel.replaceChildren(el("h3", "", "✓ " + t.drill_over + " · " + r.scenario),
      joined(el("p", "drill-facts"), facts, " · "));
    if (cfg.canAct) panel.append(drillForm(r));
    else setTimeout(() => dropDone(r.drill), DONE_VIEW_MS);
  }

  function drillForm(r) {
    const form = $("drill-form-template").content.firstElementChild.cloneNode(true);
    form.elements.participants.value = r.participants.join(", ");
    form.elements.residents_evacuated.value = r.residents_evacuated ?? "";
    form.elements.problems.value = r.problems || "";
    form.querySelector('[data-action="later"]').addEventListener("click", () => dropDone(r.drill));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      run(form.querySelector('button[type="submit"]'), () => saveDrill(r.drill, form));
    });
    return form;
  }

  // Names as people type them: commas (also Chinese ones) or one per line.
  function names(text) {
    return text.split(/[,，、;；\n]/).map((x) => x.trim()).filter(Boolean);
  }

  async function saveDrill(id, form) {
    const count = form.elements.residents_evacuated.value;
    const body = { participants: names(form.elements.participants.value),
                   residents_evacuated: count === "" ? null : Number(count),
                   problems: form.elements.problems.value.trim() || null };
    const response = await fetch("/api/v1/records/drills/" + encodeURIComponent(id), {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (response.status === 401) return logInAgain();
    if (!response.ok) return notify(await reason(response));
    const saved = await response.json();
    const close = el("button", "", t.close);
    close.type = "button";
    close.addEventListener("click", () => dropDone(id));
    const said = el("p", "drill-saved", "✓ " + t.drill_saved + " · " + [saved.participants.join(", "),
      t.drill_evacuated + " " + (saved.residents_evacuated ?? "–"), saved.problems].filter(Boolean).join(" · "));
    said.setAttribute("role", "status");
    form.replaceWith(said, close);
    close.focus();
  }

  // After a reload, drills given the all-clear lately with nothing recorded yet still ask for their record.
  async function askPendingRecords() {
    const nowMs = now();
    for (const r of await drillRecords()) {
      const recent = r.all_clear_at && nowMs - Date.parse(r.all_clear_at) < PENDING_MS;
      const empty = !r.participants.length && r.residents_evacuated == null && !r.problems;
      if (recent && empty && !drills.done.has(r.drill)) showDone(donePanel(r.drill), r);
    }
  }

  // ---- live stream ---------------------------------------------------------------------------

  function applySnapshot(snap) {
    // A snapshot replaces everything: it also arrives after every reconnect, so nothing stale may stay.
    state.skewMs = Date.parse(snap.at) - Date.now();
    state.alerts = new Map(snap.alerts.filter(ours).map((a) => [a.id, a]));
    state.devices = new Map(snap.devices.filter(ours).map((d) => [d.device, d]));
    state.edge = snap.edges.find(ours) || null;
    state.suppressions = snap.suppressions || [];
    state.alerts.forEach(noteDrillAlarm);
    if (cfg.canAct && !drills.asked) { // once a page, not after every reconnect
      drills.asked = true;
      askPendingRecords().catch(() => notify(t.action_failed));
    }
    setLive(true);
    renderAlerts();
    renderAllDevices();
    renderSuppressions();
  }

  function setLive(live) {
    state.live = live;
    $("banner").hidden = live;
    $("connecting").hidden = true;
    const main = $("screen");
    main.classList.toggle("stale", !live);
    main.setAttribute("aria-busy", String(!live));
    $("all-well").hidden = !live || state.alerts.size > 0; // "all is well" only while we can vouch for it
  }

  function connect() {
    const source = new EventSource("/events?site=" + encodeURIComponent(cfg.site));
    source.addEventListener("snapshot", (e) => applySnapshot(JSON.parse(e.data)));
    source.addEventListener("alert", (e) => {
      putAlert(JSON.parse(e.data));
      renderAlerts();
    });
    source.addEventListener("suppressions", (e) => {
      state.suppressions = JSON.parse(e.data);
      renderSuppressions();
    });
    source.addEventListener("edge", (e) => {
      const edge = JSON.parse(e.data);
      if (!ours(edge)) return;
      state.edge = edge;
      renderEdge();
    });
    source.addEventListener("device", (e) => {
      const d = JSON.parse(e.data);
      if (!ours(d)) return;
      state.devices.set(d.device, d);
      renderDevice(d.device);
      if (d.kind === "camera") renderCoverage();
    });
    source.onerror = () => {
      setLive(false);
      // The browser retries by itself unless the server answered with an error (CLOSED): then we do.
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        setTimeout(reconnect, RETRY_CLOSED_MS);
      }
    };
  }

  async function reconnect() {
    try {
      const probe = await fetch("/api/v1/alerts?limit=1", { credentials: "same-origin" });
      if (probe.status === 401) return logInAgain(); // the login expired
    } catch (e) {
      // Server unreachable: try the stream anyway, its errors bring us back here.
    }
    connect();
  }

  // ---- actions -------------------------------------------------------------------------------

  function logInAgain() {
    location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
  }

  function notify(text) {
    const notice = $("notice");
    notice.textContent = text;
    clearTimeout(notify.timer);
    notify.timer = setTimeout(() => (notice.textContent = ""), 8000);
  }

  async function post(id, action, body) {
    const response = await fetch("/api/v1/alerts/" + encodeURIComponent(id) + "/" + action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (response.ok) {
      putAlert(await response.json()); // show the change now; the stream confirms it
      renderAlerts();
      return;
    }
    if (response.status === 401) return logInAgain();
    if (response.status === 403) return notify(t.not_allowed);
    if (response.status === 409 || response.status === 404) {
      notify(t.already_handled);
      return refresh(id);
    }
    notify(t.action_failed);
  }

  async function refresh(id) {
    const response = await fetch("/api/v1/alerts/" + encodeURIComponent(id), { credentials: "same-origin" });
    if (response.status === 404) state.alerts.delete(id);
    else if (response.ok) putAlert(await response.json());
    renderAlerts();
  }

  async function run(button, work) {
    button.disabled = true;
    try {
      await work();
    } catch (e) {
      notify(t.action_failed);
    } finally {
      button.disabled = false;
    }
  }

  function acknowledge(id, button) {
    return run(button, () => post(id, "ack", {}));
  }

  function askResolve(id) {
    const dialog = $("resolve-dialog");
    const a = state.alerts.get(id);
    if (!dialog || !a) return;
    dialog.querySelector("form").reset();
    dialog.dataset.alert = String(id);
    $("resolve-what").textContent = [...new Set([a.title, cfg.names[a.subject] || a.subject_name, a.room_name]
      .filter(Boolean))].join(" · ");
    dialog.returnValue = "";
    dialog.showModal();
  }

  function onResolveClosed() {
    const dialog = $("resolve-dialog");
    const id = Number(dialog.dataset.alert);
    if (dialog.returnValue !== "confirm" || !state.alerts.has(id)) return;
    const form = dialog.querySelector("form");
    const body = { resolution: form.elements.resolution.value };
    const note = form.elements.note.value.trim();
    if (note) body.note = note;
    const li = items.get(id);
    const button = li ? li.querySelector('[data-action="resolve"]') : null;
    const work = () => post(id, "resolve", body);
    if (button) run(button, work);
    else work().catch(() => notify(t.action_failed));
  }

  // ---- start ---------------------------------------------------------------------------------

  const dialog = $("resolve-dialog");
  if (dialog) dialog.addEventListener("close", onResolveClosed);
  const suppressDialog = $("suppress-dialog");
  if (suppressDialog) {
    suppressDialog.addEventListener("close", () => onSuppressClosed().catch(() => notify(t.action_failed)));
    suppressDialog.querySelector("select[name=mode]").addEventListener("change", fillTargets);
    suppressDialog.querySelector("select[name=scope]").addEventListener("change", fillTargets);
    $("suppress-open")?.addEventListener("click", askSuppress); // a wall display (kiosk) has no opener
  }
  setInterval(renderSuppressions, AGE_EVERY_MS);
  setInterval(tickAges, TICK_EVERY_MS);
  window.CarewatchSound.init(t);
  setInterval(tickClocks, CLOCK_EVERY_MS);
  connect();
})();
