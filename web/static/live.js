// live.js: the SharedWorker that gives every tab of a debugz dashboard its
// live updates over one stream, so that however many tabs are open they
// hold one of the browser's connections to the host (six per host), not one
// each, and a page never waits for a connection another page holds.
//
// A tab (debugz.js) posts {hub, views}: the URL of its dashboard's shared
// stream (…/live/shared) and its live views ("summary?sort=count", …); an
// empty views list when it leaves. The worker keeps one EventSource per hub
// carrying every view its tabs want (the server's cap: the latest 20), and
// posts each tab {i, data}, the new content of its view i, and
// {state: 'open' | 'error'}. A tab that asks for a view already streamed
// gets the latest content at once, and the stream is reopened only when a
// view is added, or two seconds after one is no longer wanted (a tab going
// back and forward keeps its view).
'use strict';

var maxViews = 20;
var hubs = {}; // by URL: {url, es, key, ports: Map(port → views), last: {view: data}, state, timer, due}

self.addEventListener('connect', function (e) {
  var port = e.ports[0];
  port.onmessage = function (m) { subscribe(port, m.data.hub, m.data.views || []); };
  port.start();
});

function subscribe(port, url, views) {
  Object.keys(hubs).forEach(function (k) {
    var h = hubs[k];
    if (h.ports.delete(port)) schedule(h, 2000);
  });
  if (!url || views.length === 0) return;
  var h = hubs[url] || (hubs[url] = { url: url, es: null, key: '', ports: new Map(), last: {}, state: '' });
  h.ports.set(port, views);
  var streamed = h.key.split('\n');
  var missing = false;
  views.forEach(function (v, i) {
    if (streamed.indexOf(v) < 0) missing = true;
    else if (v in h.last) port.postMessage({ i: i, data: h.last[v] });
  });
  if (h.state) port.postMessage({ state: h.state });
  if (missing || !h.es) schedule(h, 20);
}

// schedule reopens h's stream within ms, unless it is due sooner.
function schedule(h, ms) {
  var due = Date.now() + ms;
  if (h.timer && h.due <= due) return;
  clearTimeout(h.timer);
  h.due = due;
  h.timer = setTimeout(function () { h.timer = 0; reopen(h, false); }, ms);
}

// reopen opens h's stream for the views its tabs want now, if they changed
// or force is set.
function reopen(h, force) {
  var want = [];
  h.ports.forEach(function (views) {
    views.forEach(function (v) { if (want.indexOf(v) < 0) want.push(v); });
  });
  want = want.slice(-maxViews).sort();
  var key = want.join('\n');
  if (key === h.key && h.es && !force) return;
  if (h.es) h.es.close();
  h.es = null;
  h.key = key;
  Object.keys(h.last).forEach(function (v) { if (want.indexOf(v) < 0) delete h.last[v]; });
  if (want.length === 0) {
    delete hubs[h.url];
    return;
  }
  var es = new EventSource(h.url + '?' + want.map(function (v) { return 'v=' + encodeURIComponent(v); }).join('&'));
  want.forEach(function (v, n) {
    es.addEventListener(String(n), function (e) {
      h.last[v] = e.data;
      h.ports.forEach(function (views, port) {
        views.forEach(function (w, i) { if (w === v) port.postMessage({ i: i, data: e.data }); });
      });
    });
  });
  es.onopen = function () { setState(h, 'open'); };
  es.onerror = function () {
    if (h.es !== es) return;
    setState(h, es.readyState === EventSource.OPEN ? 'open' : 'error');
    // Refused (a 503 past the stream caps) or gone: EventSource gives up;
    // try again later.
    if (es.readyState === EventSource.CLOSED) setTimeout(function () { if (h.es === es) reopen(h, true); }, 5000);
  };
  h.es = es;
}

function setState(h, state) {
  h.state = state;
  h.ports.forEach(function (views, port) { port.postMessage({ state: state }); });
}
