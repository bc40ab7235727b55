"use strict";
// Renders /status.json into the page every 2 s and reloads the camera
// preview about once a second. Data only ever goes in through textContent:
// names come from the code cache and are not trusted as HTML.
(function () {
  var token = new URLSearchParams(location.search).get("token");
  function url(path) {
    if (!token) return path;
    return path + (path.indexOf("?") < 0 ? "?" : "&") + "token=" + encodeURIComponent(token);
  }
  function el(id) { return document.getElementById(id); }
  function set(id, text, cls) {
    var e = el(id);
    e.textContent = text;
    if (cls !== undefined) e.className = cls;
  }
  // Go writes the zero time.Time as year 1.
  function isZero(t) { return !t || t.indexOf("0001-01-01") === 0; }
  function when(t) { return isZero(t) ? "never" : new Date(t).toLocaleString(); }
  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }

  function render(s) {
    document.title = (s.healthy ? "" : "⚠ ") + s.kiosk + " · kioskd";
    set("kiosk", s.kiosk || "kioskd");
    set("version", "kioskd " + (s.version || "?") + (s.offline ? " · daemon not running" : ""));
    set("updated", new Date(s.now).toLocaleTimeString());
    set("health", s.healthy ? "Healthy" : "Not healthy", "badge " + (s.healthy ? "ok" : "bad"));

    var probs = el("problems");
    probs.replaceChildren();
    (s.problems || []).forEach(function (p) {
      var li = document.createElement("li");
      li.textContent = p;
      probs.appendChild(li);
    });
    probs.hidden = probs.children.length === 0;

    var c = s.camera;
    // Scanner inputs (issue 20): a kiosk may have no camera at all.
    var ins = s.inputs || [], scanners = [], down = false, noCam = ins.length > 0;
    ins.forEach(function (i) {
      if (i.type === "camera") { noCam = false; return; }
      down = down || !i.up;
      scanners.push(i.name + " (" + i.type + "): " + (i.up ? "up" : "DOWN") + (i.detail ? ", " + i.detail : "") + ", " + i.reads + " reads" +
        // From the end of the scanner's read, not from a frame's capture.
        (i.verdict_latency_p50 ? ", verdict latency " + i.verdict_latency_p50 + " / " + i.verdict_latency_p95 : ""));
    });
    set("inputs", scanners.length ? scanners.join("; ") : "none", down ? "fail" : "");
    if (noCam) set("camera-state", "none (scanner inputs only)", "");
    else set("camera-state", c.up ? "up" + (c.source ? " (" + c.source + ")" : "") : "DOWN", c.up ? "good" : "fail");
    set("camera-fps", c.up ? c.fps.toFixed(1) + " fps" : "–");
    set("camera-decode", c.up ? c.decode_p50 : "–");
    set("camera-latency", c.verdict_latency_p50 && c.verdict_latency_p50 !== "0s" ? c.verdict_latency_p50 + " / " + c.verdict_latency_p95 : "–");
    set("camera-dropped", String(c.frames_dropped || 0));
    set("camera-detail", c.detail || "–");

    var k = s.cache;
    set("cache-count", String(k.count));
    set("cache-last-sync", when(k.last_sync), isZero(k.last_sync) ? "fail" : "");
    set("cache-age", isZero(k.last_sync) ? "–" : k.age + (k.stale ? " (STALE)" : ""), k.stale ? "fail" : "");
    set("cache-source", k.source || "–");

    var a = s.access;
    el("access-card").hidden = !a;
    if (a) {
      set("access-owners", isZero(a.owners_synced) ? "never" : when(a.owners_synced) + " (" + a.owners_age + " ago, " +
        a.owners + " owners" + (a.owners_stale ? ", STALE" : "") + "); match " + a.match, a.owners_stale ? "fail" : "");
      var ar = el("access-reqs");
      ar.replaceChildren();
      (a.requirements || []).forEach(function (q) {
        var tr = document.createElement("tr");
        cell(tr, q.name);
        cell(tr, "collection " + q.collection_id + " · tokens " + q.token_ids + " · ≥ " + q.min_amount, "mono");
        cell(tr, q.synced ? String(q.holders) : "not synced", q.synced ? "" : "fail");
        ar.appendChild(tr);
      });
    }

    var y = s.sync;
    set("sync-last", when(y.last_attempt));
    if (y.last_error) set("sync-result", "failed: " + y.last_error, "fail");
    else if (isZero(y.last_attempt)) set("sync-result", "–", "");
    else set("sync-result", "ok in " + y.last_duration, "good");
    set("sync-next", y.next_sync ? when(y.next_sync) : "–");
    if (y.syncing) set("sync-now", "syncing since " + when(y.syncing_since) + ", page " + (y.page || 0), "warn");
    else set("sync-now", "idle" + (y.duplicates ? " (last sync: " + y.duplicates + " duplicate records)" : ""), "");
    var h = y.held_back;
    if (h) set("sync-held-back", h.codes + " codes listed at " + when(h.at) + ", " + h.cached +
      " cached: the old cache serves; to apply, stop the daemon and run kioskd sync -apply-held-back", "fail");
    else set("sync-held-back", "none", "");

    set("events-pending", String(s.events.pending), s.events.pending > 0 ? "big warn" : "big");
    set("events-dropped", String(s.events.dropped), s.events.dropped > 0 ? "fail" : "");

    set("clock", s.clock.trusted ? "trusted" : "NOT trusted" +
      (isZero(s.clock.trusted_time) ? "" : " (last trusted " + when(s.clock.trusted_time) + ")"),
      s.clock.trusted ? "good" : "fail");
    set("gpio", (s.gpio.driver || "–") + (s.gpio.detail ? " · " + s.gpio.detail : ""));
    set("display", s.display.enabled ? "on" + (s.display.state ? " · " + s.display.state : "") : "off");

    // Loyalty visits (policy.visits): this period's totals only; no holder
    // is named in the JSON, so none can be here.
    var vi = s.visits, vb = el("visits");
    vb.replaceChildren();
    el("visits-card").hidden = !vi;
    if (vi) {
      var vr = document.createElement("tr");
      cell(vr, vi.current + " (per " + vi.period + ", " + vi.time_zone + ")");
      cell(vr, String(vi.visits), "num");
      cell(vr, String(vi.holders), "num");
      cell(vr, vi.cooldown);
      cell(vr, vi.published || vi.applied ? vi.published + " shared, " + vi.applied + " from peers" : "–");
      vb.appendChild(vr);
    }

    // Hand-off outputs (outputs:) and their queues; a target comes without
    // credentials or query from the daemon.
    var ob = el("outputs");
    ob.replaceChildren();
    (s.outputs || []).forEach(function (o) {
      var tr = document.createElement("tr"), state = "delivering", cls = "good";
      if (!o.configured) { state = "no longer configured (kioskd outputs drop)"; cls = "warn"; }
      else if (o.last_error) {
        state = "FAILING (" + o.failures + " in a row): " + o.last_error +
          (isZero(o.next_attempt) ? "" : "; next attempt " + when(o.next_attempt));
        cls = "fail";
      } else if (o.connected === false) { state = "DISCONNECTED"; cls = "fail"; }
      cell(tr, o.name);
      cell(tr, o.configured ? (o.kind + " " + (o.target || "")).trim() : "–", "mono");
      cell(tr, state, cls);
      cell(tr, String(o.queued), o.queued > 0 ? "num warn" : "num");
      cell(tr, String(o.delivered), "num");
      cell(tr, String(o.refused), o.refused > 0 ? "num fail" : "num");
      cell(tr, String(o.dropped), o.dropped > 0 ? "num fail" : "num");
      cell(tr, isZero(o.last_delivered) ? "never" : when(o.last_delivered) + " in " + o.last_latency + (o.slow ? " (SLOW)" : ""),
        o.slow ? "warn" : "");
      ob.appendChild(tr);
    });
    el("outputs-card").hidden = ob.children.length === 0;

    var tb = el("recent");
    tb.replaceChildren();
    (s.recent || []).forEach(function (v) {
      var tr = document.createElement("tr");
      cell(tr, when(v.time));
      cell(tr, v.accept ? "✔ accept" : "✘ reject", v.accept ? "good" : "fail");
      cell(tr, v.reason + (v.requirement ? ": " + v.requirement : ""));
      cell(tr, v.name || "");
      cell(tr, v.hash_prefix || "", "mono");
      cell(tr, v.warning || "", "warn");
      tb.appendChild(tr);
    });
    if (!tb.children.length) {
      var tr = document.createElement("tr");
      cell(tr, "none yet", "muted");
      tr.firstChild.colSpan = 6;
      tb.appendChild(tr);
    }

    var pb = el("peers");
    pb.replaceChildren();
    (s.peers || []).forEach(function (p) {
      var tr = document.createElement("tr");
      cell(tr, p.kiosk);
      cell(tr, p.online ? "online" : "offline", p.online ? "good" : "fail");
      cell(tr, when(p.last_seen));
      pb.appendChild(tr);
    });
    var f = s.fleet;
    el("fleet").textContent = f ? f.broker + " " + (f.connected ? "connected" : "DISCONNECTED") + "; " +
      f.published + " published, " + f.pending + " pending, " + f.applied + " applied from peers" : "";
    el("peers-card").hidden = !f && pb.children.length === 0;
  }

  function refresh() {
    fetch(url("status.json"), { cache: "no-store" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (s) {
        el("offline").hidden = true;
        render(s);
      })
      .catch(function (e) {
        var b = el("offline");
        b.textContent = "kioskd is not answering (" + e.message + "); showing the last state received.";
        b.hidden = false;
      });
  }

  // One preview request at a time: a slow link gets fewer frames, not a queue.
  var img = el("preview"), msg = el("preview-msg"), busy = false;
  img.onload = function () { busy = false; img.hidden = false; msg.hidden = true; };
  img.onerror = function () {
    busy = false;
    img.hidden = true; // no broken-image icon, and no stale frame from before the failure
    msg.textContent = "no preview: no frame yet, or the camera is down";
    msg.hidden = false;
  };
  function nextFrame() {
    if (busy) return;
    busy = true;
    img.src = url("preview.jpg?t=" + Date.now());
  }

  refresh();
  nextFrame();
  setInterval(refresh, 2000);
  setInterval(nextFrame, 1000);
})();
