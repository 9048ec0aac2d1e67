/*! kickin.js: gives the pixel and the server one event_id per conversion and tells
 * Kickin what the pixel was told. No dependencies; never throws into the page; sends
 * no personal data (event name, event id, the _fbp/_fbc cookies, page origin+path, time).
 *   <script src="https://KICKIN/v1/browser/kickin.js" data-key="pk_..."></script>
 *   var id = Kickin.track("Purchase", {value: 129.99, currency: "USD"}, {orderId: "1001"});
 * The id is the given eventId, else "order_" + orderId, else a random one; the server
 * sends the same value as event_id. */
(function (w, d) {
  "use strict";
  if (w.Kickin && w.Kickin.track) return;
  var key = "", base = "", queue = [], timer = 0, inside = false, clickFbc = null;
  var COOKIE = /^fb\.\d+\.\d+\..+$/;
  var GA4 = {Purchase: "purchase", AddToCart: "add_to_cart", InitiateCheckout: "begin_checkout",
    ViewContent: "view_item", Lead: "generate_lead", CompleteRegistration: "sign_up",
    Search: "search", AddPaymentInfo: "add_payment_info", AddToWishlist: "add_to_wishlist"};

  function cookie(name) {
    var m = d.cookie.match(new RegExp("(?:^|;\\s*)" + name + "=([^;]*)"));
    var v = m ? decodeURIComponent(m[1]) : null;
    return v && COOKIE.test(v) ? v : null;
  }

  // Meta's fbc when only the click id is known: fb.1.<time of the click, ms>.<fbclid>,
  // kept for the session so later pages send the same value.
  function readClick() {
    var clid = null;
    try {
      clid = new URLSearchParams(w.location.search).get("fbclid");
      var kept = w.sessionStorage.getItem("kickin_fbc");
      if (clid && !(kept && kept.split(".").slice(3).join(".") === clid)) {
        kept = "fb.1." + Date.now() + "." + clid;
        w.sessionStorage.setItem("kickin_fbc", kept);
      }
      clickFbc = kept;
    } catch (e) {
      clickFbc = clid ? "fb.1." + Date.now() + "." + clid : null;
    }
  }

  function randomId() {
    var c = w.crypto, b = new Uint8Array(16), hex = "", i;
    if (c && c.randomUUID) return c.randomUUID();
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    for (i = 0; i < 16; i++) hex += (b[i] + 256).toString(16).slice(1);
    return hex;
  }

  function eventIdFor(opts) {
    if (opts && opts.eventId != null && opts.eventId !== "") return String(opts.eventId);
    if (opts && opts.orderId != null && opts.orderId !== "") return "order_" + String(opts.orderId);
    return randomId();
  }

  function flush() {
    clearTimeout(timer);
    timer = 0;
    var url = base + "/v1/browser/events?key=" + encodeURIComponent(key);
    while (queue.length) {
      var body = JSON.stringify({events: queue.splice(0, 100)}), sent = false;
      try { sent = !!(w.navigator.sendBeacon && w.navigator.sendBeacon(url, body)); } catch (e) {}
      if (!sent && w.fetch) {
        try {
          w.fetch(url, {method: "POST", body: body, keepalive: true, credentials: "omit",
            headers: {"Content-Type": "text/plain"}}).catch(function () {});
        } catch (e) {}
      }
    }
  }

  function observe(name, id) {
    if (!key || !base || typeof name !== "string" || !name) return;
    queue.push({event_name: name.slice(0, 100), event_id: id ? String(id).slice(0, 256) : null,
      fbp: cookie("_fbp"), fbc: cookie("_fbc") || clickFbc,
      page_url: w.location.origin + w.location.pathname, ts_ms: Date.now()});
    if (queue.length >= 100) flush();
    else if (!timer) timer = setTimeout(flush, 1000);
  }

  // A pixel call made by any code: fbq('track', name, params, {eventID}) and its variants.
  function watch(args) {
    if (inside) return;
    var a = args[0], name, opts;
    if (a === "track" || a === "trackCustom") { name = args[1]; opts = args[3]; }
    else if (a === "trackSingle" || a === "trackSingleCustom") { name = args[2]; opts = args[4]; }
    else return;
    observe(name, opts && (opts.eventID || opts.eventId));
  }

  // The pixel stays itself (a Proxy forwards its properties: queue, callMethod, loaded).
  function wrap(f) {
    if (typeof f !== "function" || f.__kickin || typeof Proxy !== "function") return f;
    return new Proxy(f, {
      apply: function (target, self, args) {
        try { watch(args); } catch (e) {}
        return Reflect.apply(target, self, args);
      },
      get: function (target, prop) { return prop === "__kickin" ? true : target[prop]; }
    });
  }

  function hookPixel() {
    if (w.fbq) { w.fbq = wrap(w.fbq); return; }
    var desc = Object.getOwnPropertyDescriptor(w, "fbq"), current;
    if (desc && !desc.configurable) return;
    Object.defineProperty(w, "fbq", {configurable: true, enumerable: true,
      get: function () { return current; },
      set: function (v) { current = wrap(v); }});
  }

  function copy(params, extra) {
    var out = {}, k;
    for (k in params || {}) if (Object.prototype.hasOwnProperty.call(params, k)) out[k] = params[k];
    for (k in extra) out[k] = extra[k];
    return out;
  }

  function track(name, params, opts) {
    var id;
    try { id = eventIdFor(opts); } catch (e) { id = randomId(); }
    try {
      inside = true;
      if (typeof w.fbq === "function") w.fbq("track", name, params || {}, {eventID: id});
    } catch (e) {} finally { inside = false; }
    try { if (w.ttq && typeof w.ttq.track === "function") w.ttq.track(name, params || {}, {event_id: id}); } catch (e) {}
    try {
      if (typeof w.gtag === "function") {
        var extra = {event_id: id};
        if (opts && opts.orderId != null) extra.transaction_id = String(opts.orderId);
        w.gtag("event", GA4[name] || name, copy(params, extra));
      }
    } catch (e) {}
    try { observe(name, id); } catch (e) {}
    return id;
  }

  try {
    var s = d.currentScript, src = s && s.src ? new URL(s.src) : null;
    key = (s && s.getAttribute("data-key")) || (src && src.searchParams.get("key")) || "";
    base = (s && s.getAttribute("data-endpoint")) || (src ? src.origin : "");
    readClick();
    hookPixel();
    w.addEventListener("pagehide", function () { try { flush(); } catch (e) {} });
    d.addEventListener("visibilitychange", function () {
      try { if (d.visibilityState === "hidden") flush(); } catch (e) {}
    });
  } catch (e) {}
  w.Kickin = {track: track, flush: function () { try { flush(); } catch (e) {} },
    eventIdForOrder: function (orderId) { return "order_" + String(orderId); }};
})(window, document);
