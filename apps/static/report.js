(function () {
"use strict";
var t0 = performance.now();
var D = JSON.parse(document.getElementById("report-data").textContent);
var G = D.genres, COL = D.colours, T = D.tracks, F = D.frames, n = T.name.length;
document.documentElement.style.setProperty("--unknown-edge", D.unknown_edge);
function bytes(b64) {
  var s = atob(b64), a = new Uint8Array(s.length);
  for (var i = 0; i < s.length; i++) a[i] = s.charCodeAt(i);
  return a;
}
var VB = bytes(T.vec), FS = bytes(F.scores), FOFF = new Int32Array(n + 1);
function vec(k) { return VB[2 * k] | (VB[2 * k + 1] << 8); }  // a track's score, 0-10000, 65535: none
for (var i = 0; i < n; i++) FOFF[i + 1] = FOFF[i] + F.count[i];
function esc(s) {
  return String(s).replace(/[&<>"']/g, function (c) {
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
  });
}
function folderOf(name) { var k = name.lastIndexOf("/"); return k < 0 ? "" : name.slice(0, k); }
function fullPath(i) { return D.root ? D.root.replace(/\/$/, "") + "/" + T.name[i] : T.name[i]; }
function genreOf(i) { return T.top[i] === -2 ? "unknown" : T.top[i] < 0 ? "silent" : G[T.top[i]]; }
function bestGuess(i) {  // the arg-max genre of a track labelled unknown
  var best = 0;
  for (var g = 1; g < 10; g++) if (vec(i * 10 + g) > vec(i * 10 + best)) best = g;
  return G[best];
}
function confText(i) {
  var v = T.conf ? T.conf[i] : null;
  return v === null ? "–" : D.conf_percent ? v.toFixed(1) + "%" : v.toFixed(3);
}
function labelOf(i) { return T.label[i] < 0 ? "" : D.labels[T.label[i]]; }
var U = D.user;  // run --head: the user's own genres, beside GTZAN's
function userOf(i) { return !U || U.genre[i] < 0 ? "" : D.user_genres[U.genre[i]]; }
function mmss(s) {
  if (s === null) return "–";
  var m = Math.floor(s / 60), r = Math.round(s - 60 * m);
  if (r === 60) { m += 1; r = 0; }
  return m + ":" + (r < 10 ? "0" : "") + r;
}
var FOLDER = T.name.map(folderOf);
var HAY = T.name.map(function (name, i) {
  return (name + "\n" + labelOf(i) + "\n" + genreOf(i) + (U ? "\n" + userOf(i) : "")).toLowerCase();
});
var MATCH = {"1": ["right", "✓ right"], "0": ["wrong", "✗ wrong"], "-1": ["other", "not a genre"]};
var COLS = [
  {key: "track", num: false, val: function (i) { return T.name[i].toLowerCase(); },
   cell: function (i) {
     return '<td class="name" title="' + esc(fullPath(i)) + '">' + esc(T.name[i]) + "</td>";
   }},
  {key: "folder", num: false, val: function (i) { return FOLDER[i].toLowerCase(); },
   cell: function (i) { return "<td>" + esc(FOLDER[i]) + "</td>"; }},
  {key: "genre", num: false, val: genreOf,
   cell: function (i) {
     if (T.top[i] === -2) return '<td><i class="sw unknown"></i>unknown</td>';  // no genre: hatched
     var c = T.top[i] < 0 ? D.silent_colour : COL[T.top[i]];
     return '<td><i class="sw" style="background:' + c + '"></i>' + genreOf(i) + "</td>";
   }},
  {key: "score", num: true, val: function (i) { return T.score[i]; },
   cell: function (i) {
     return '<td class="num">' + (T.score[i] === null ? "–" : T.score[i].toFixed(1)) + "</td>";
   }}
];
if (U) {
  COLS.push({key: "user", num: false, val: function (i) { return userOf(i).toLowerCase(); },
    cell: function (i) {
      var c = U.conf[i] === null ? "" : ' title="confidence ' + U.conf[i].toFixed(1) + '%"';
      return "<td" + c + ">" + esc(userOf(i)) + "</td>";
    }});
}
if (T.conf) {
  COLS.push({key: "confidence", num: true, val: function (i) { return T.conf[i]; },
    cell: function (i) {
      var v = T.conf[i];
      return '<td class="num">' + (v === null ? "–" : D.conf_percent ? v.toFixed(1) : v.toFixed(3)) + "</td>";
    }});
}
COLS.push(
  {key: "duration", num: true, val: function (i) { return T.dur[i]; },
   cell: function (i) { return '<td class="num">' + mmss(T.dur[i]) + "</td>"; }},
  {key: "label", num: false, val: function (i) { return labelOf(i).toLowerCase(); },
   cell: function (i) { return "<td>" + esc(labelOf(i)) + "</td>"; }},
  {key: "match", num: true, val: function (i) { return T.match[i]; },
   cell: function (i) {
     var m = MATCH[String(T.match[i])];
     return m ? '<td class="' + m[0] + '">' + m[1] + "</td>" : "<td></td>";
   }}
);
var state = {q: "", genre: "", match: "", album: "", sort: "track", dir: "asc", t: "", view: "", aq: "",
  agenre: "", asort: "album", adir: "asc"};
var DEFAULTS = {sort: "track", dir: "asc", asort: "album", adir: "asc"};
function readUrl() {
  var params = [new URLSearchParams(location.search), new URLSearchParams(location.hash.slice(1))];
  params.forEach(function (p) {
    Object.keys(state).forEach(function (k) { if (p.has(k)) state[k] = p.get(k); });
  });
}
function writeUrl() {
  var p = new URLSearchParams();
  Object.keys(state).forEach(function (k) { if (state[k] && state[k] !== DEFAULTS[k]) p.set(k, state[k]); });
  var hash = p.toString();
  try { history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search); }
  catch (err) { /* some file:// set-ups refuse; the view still works */ }
}
var tbody = document.querySelector("#tracks tbody"), shown = document.getElementById("shown");
function selected() {
  var words = state.q.toLowerCase().split(/\s+/).filter(Boolean), rows = [];
  for (var i = 0; i < n; i++) {
    if (state.genre && genreOf(i) !== state.genre) continue;
    if (state.album !== "" && T.album && String(T.album[i]) !== state.album) continue;
    var m = T.match[i];
    if (state.match === "right" && m !== 1) continue;
    if (state.match === "wrong" && m !== 0) continue;
    if (state.match === "labelled" && m === null) continue;
    if (state.match === "unlabelled" && m !== null) continue;
    var ok = true;
    for (var w = 0; w < words.length && ok; w++) ok = HAY[i].indexOf(words[w]) >= 0;
    if (ok) rows.push(i);
  }
  var col = COLS.filter(function (c) { return c.key === state.sort; })[0] || COLS[0];
  var sign = state.dir === "desc" ? -1 : 1;
  var keys = new Array(n);
  rows.forEach(function (i) { keys[i] = col.val(i); });
  rows.sort(function (a, b) {
    var x = keys[a], y = keys[b], r;
    if (col.num) {
      x = x === null ? -Infinity : x; y = y === null ? -Infinity : y;
      r = x < y ? -1 : x > y ? 1 : 0;
    } else {
      r = x < y ? -1 : x > y ? 1 : 0;
    }
    return r ? sign * r : a - b;
  });
  return rows;
}
function render() {
  var rows = selected(), out = new Array(rows.length);
  for (var r = 0; r < rows.length; r++) {
    var i = rows[r], cells = "";
    for (var c = 0; c < COLS.length; c++) cells += COLS[c].cell(i);
    out[r] = '<tr data-i="' + i + '" tabindex="0"' + (String(i) === state.t ? ' class="open"' : "") + ">" +
      cells + "</tr>";
  }
  tbody.innerHTML = rows.length ? out.join("") : '<tr class="none"><td>No track matches.</td></tr>';
  shown.textContent = (rows.length === n ? n + " tracks" : rows.length + " of " + n + " tracks") +
    (state.album !== "" && D.albums && D.albums.folder[+state.album] !== undefined
      ? " of the album " + (D.albums.title[+state.album] || D.albums.folder[+state.album]) : "");
  document.querySelectorAll("#tracks th").forEach(function (th) {
    th.removeAttribute("aria-sort");
    if (th.dataset.key === state.sort) {
      th.setAttribute("aria-sort", state.dir === "desc" ? "descending" : "ascending");
    }
  });
}
// ---- per-track detail, drawn on demand ----
function svg(w, h) { return '<svg viewBox="0 0 ' + w + " " + h + '" width="' + w + '" height="' + h + '">'; }
function bars(i) {
  var w = 520, h = 190, left = 34, top = 16, plot = 130, slot = (w - left) / 10, s = svg(w, h);
  for (var k = 0; k <= 100; k += 50) {
    var yy = top + plot - plot * k / 100;
    s += '<line x1="' + left + '" x2="' + w + '" y1="' + yy + '" y2="' + yy + '" class="grid"/>' +
      '<text x="' + (left - 4) + '" y="' + (yy + 4) + '" class="ytick">' + k + "%</text>";
  }
  if (T.top[i] === -1) {
    s += '<text x="' + (w / 2) + '" y="' + (top + plot / 2) + '" class="note">silent: no genre</text>';
  } else if (T.top[i] === -2) {
    s += '<text x="' + (w / 2) + '" y="' + (top + 12) + '" class="note">unknown: confidence ' +
      confText(i) + " below the threshold</text>";
  }
  for (var g = 0; g < 10; g++) {
    var raw = vec(i * 10 + g), v = raw === 65535 ? null : raw / 100, x = left + g * slot + 4, bw = slot - 8;
    if (v !== null) {
      var bh = plot * v / 100, y = top + plot - bh, topBar = g === T.top[i];
      s += '<rect class="bar' + (topBar ? " top" : "") + '" x="' + x + '" y="' + y + '" width="' + bw +
        '" height="' + bh + '" fill="' + COL[g] + '"><title>' + G[g] + " " + v.toFixed(1) +
        "%</title></rect>" +
        '<text x="' + (x + bw / 2) + '" y="' + (y - 3) + '" class="val' + (topBar ? " top" : "") + '">' +
        v.toFixed(1) + "</text>";
    }
    s += '<text x="' + (x + bw / 2) + '" y="' + (top + plot + 16) + '" class="glabel">' + G[g] + "</text>";
  }
  return s + "</svg>";
}
function spans(i) {
  var t = F.time[i], c = F.count[i], out = [];
  if (!c) return out;
  if (Array.isArray(t[0])) return t;
  for (var k = 0; k < c; k++) out.push([t[0] + k * t[1], k === c - 1 ? t[2] : t[0] + (k + 1) * t[1]]);
  return out;
}
function timeline(i) {
  var c = F.count[i], w = 470, h = 190, left = 34, top = 10, plot = 140, s = svg(w, h), sp = spans(i);
  if (!c) return "<p>No frames recorded for this track.</p>";
  var ta = Math.min(sp[0][0], 0), t1 = Math.max(sp[c - 1][1], T.dur[i] || 0), pw = w - left - 4;
  var single = c === 1, colW = 70;
  function xs(t) { return left + pw * (t - ta) / (t1 - ta || 1); }
  for (var k = 0; k <= 100; k += 50) {
    var yy = top + plot - plot * k / 100;
    s += '<text x="' + (left - 4) + '" y="' + (yy + 4) + '" class="ytick">' + k + "%</text>";
  }
  for (var f = 0; f < c; f++) {
    var x0 = single ? left + 8 : xs(sp[f][0]) + 0.5, x1 = single ? left + 8 + colW : xs(sp[f][1]) - 0.5;
    var base = (FOFF[i] + f) * 10, y = top + plot;
    var span = sp[f][0].toFixed(1) + "–" + sp[f][1].toFixed(1) + " s", fw = Math.max(x1 - x0, 1);
    if (FS[base] === 255) {
      s += '<rect class="silentframe" x="' + x0 + '" y="' + top + '" width="' + fw + '" height="' +
        plot + '"><title>frame_index ' + f + ", " + span + ": silent</title></rect>";
      continue;
    }
    for (var g = 0; g < 10; g++) {  // GENRES order, bottom up: the legend lists them top down
      var v = FS[base + g] / 2, bh = plot * v / 100;
      if (bh <= 0) continue;
      y -= bh;
      s += '<rect class="seg" x="' + x0 + '" y="' + y + '" width="' + fw + '" height="' + bh +
        '" fill="' + COL[g] + '"><title>frame_index ' + f + ", " + span + ": " + G[g] + " " + v.toFixed(1) +
        "%</title></rect>";
      if (single && bh > 11) {
        s += '<text x="' + (x1 + 6) + '" y="' + (y + bh / 2 + 4) + '" class="seglabel">' + G[g] + " " +
          v.toFixed(1) + "%</text>";
      }
    }
  }
  s += '<line x1="' + left + '" x2="' + (w - 4) + '" y1="' + (top + plot) + '" y2="' + (top + plot) +
    '" stroke="#888"/>';
  if (single) {
    s += '<text x="' + (left + 8 + colW / 2) + '" y="' + (top + plot + 16) + '" class="glabel">' +
      sp[0][0].toFixed(1) + "–" + sp[0][1].toFixed(1) + " s</text>" +
      '<text x="' + (w / 2) + '" y="' + (h - 6) + '" class="axis">' +
      "one frame: the track's scores are this frame's</text>";
  } else {
    var ticks = 5;
    for (var k2 = 0; k2 <= ticks; k2++) {
      var tt = ta + (t1 - ta) * k2 / ticks;
      var anchor = k2 === 0 ? "start" : k2 === ticks ? "end" : "middle";
      s += '<text x="' + xs(tt) + '" y="' + (top + plot + 16) + '" class="glabel" ' +
        'style="text-anchor:' + anchor + '">' + mmss(tt) + "</text>";
    }
    s += '<text x="' + (w / 2) + '" y="' + (h - 6) + '" class="axis">' +
      "time (m:ss), one column per frame</text>";
  }
  return s + "</svg>";
}
function legend() {
  var s = '<ul class="legend">';
  for (var g = 9; g >= 0; g--) {  // top of the stack first, as the columns read
    s += '<li><i class="sw" style="background:' + COL[g] + '"></i>' + G[g] + "</li>";
  }
  return s + '<li><i class="sw silentframe"></i>silent frame</li></ul>';
}
var detail = document.getElementById("detail");
function showDetail() {
  var i = parseInt(state.t, 10);
  document.querySelectorAll("#tracks tr.open").forEach(function (tr) { tr.classList.remove("open"); });
  if (!(i >= 0 && i < n)) { detail.hidden = true; detail.innerHTML = ""; return; }
  var row = tbody.querySelector('tr[data-i="' + i + '"]');
  if (row) row.classList.add("open");
  var m = MATCH[String(T.match[i])], facts = [
    ["path", esc(fullPath(i))],
    ["top genre", T.top[i] === -2
      ? "unknown (best guess " + bestGuess(i) + ", " + T.score[i].toFixed(1) + "%)"
      : genreOf(i) + (T.score[i] === null ? "" : " (" + T.score[i].toFixed(1) + "%)")],
    ["duration", mmss(T.dur[i]) + " (" + (T.dur[i] === null ? "–" : T.dur[i].toFixed(1)) + " s), " +
      F.count[i] +
      " frame" + (F.count[i] === 1 ? "" : "s") + (T.silent[i] ? ", " + T.silent[i] + " silent" : "")]
  ];
  if (T.conf) {
    facts.push(["confidence", confText(i) + (D.min_confidence === null || D.min_confidence === undefined ? ""
      : " (unknown below " + (D.conf_percent ? (D.min_confidence * 100).toFixed(1) + "%"
        : D.min_confidence) + ")")]);
  }
  if (U && U.genre[i] >= 0) {
    facts.push(["your genre", esc(userOf(i)) + (U.conf[i] === null ? "" : " (" + U.conf[i].toFixed(1) + "%)")]);
  }
  if (T.analysed && T.analysed[i] !== null) {
    facts.push(["analysed", T.analysed[i].toFixed(1) + " s of " +
      (T.dur[i] === null ? "–" : T.dur[i].toFixed(1)) + " s"]);
  }
  if (T.label[i] >= 0) facts.push(["label", esc(labelOf(i)) + (m ? " — " + m[1] : "")]);
  detail.innerHTML = '<button type="button" id="close" aria-label="close">×</button>' +
    "<h2>" + esc(T.name[i]) + "</h2><dl>" +
    facts.map(function (f) { return "<dt>" + f[0] + "</dt><dd>" + f[1] + "</dd>"; }).join("") + "</dl>" +
    '<h3>Genre scores (%)</h3><div id="bars">' + bars(i) + "</div>" +
    '<h3>Genre share per frame</h3><div class="tl"><div id="timeline">' + timeline(i) + "</div>" +
    legend() + "</div>";
  detail.hidden = false;
  document.getElementById("close").addEventListener("click", function () {
    state.t = ""; writeUrl(); showDetail();
  });
}
// ---- wiring ----
var q = document.getElementById("q"), genre = document.getElementById("genre");
var match = document.getElementById("match");
function fromControls() {
  state.q = q.value; state.genre = genre.value; state.match = match.value; writeUrl(); render(); showDetail();
}
function toControls() { q.value = state.q; genre.value = state.genre; match.value = state.match; }
var timer = null;
q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(fromControls, 150); });
genre.addEventListener("change", fromControls);
match.addEventListener("change", fromControls);
document.getElementById("reset").addEventListener("click", function () {
  state.q = state.genre = state.match = state.album = state.t = ""; toControls(); fromControls();
});
function openRow(ev) {
  var tr = ev.target.closest("tr[data-i]");
  if (!tr) return;
  state.t = state.t === tr.dataset.i ? "" : tr.dataset.i; writeUrl(); showDetail();
}
tbody.addEventListener("click", openRow);
tbody.addEventListener("keydown", function (ev) { if (ev.key === "Enter") openRow(ev); });
document.addEventListener("keydown", function (ev) {
  if (ev.key === "Escape" && state.t) { state.t = ""; writeUrl(); showDetail(); }
});
document.querySelectorAll("#distribution .dbar").forEach(function (bar) {
  function pick() {
    state.genre = state.genre === bar.dataset.genre ? "" : bar.dataset.genre; toControls(); fromControls();
  }
  bar.addEventListener("click", pick);
  bar.addEventListener("keydown", function (ev) { if (ev.key === "Enter") pick(); });
});
window.addEventListener("hashchange", function () {
  readUrl(); toControls(); albumsToControls(); showView(); render(); renderAlbums();
  if (!state.view) showDetail();
});
// ---- the album view: one row per album of the run's albums table ----
var A = D.albums || {title: [], folder: [], top: [], score: [], conf: [], agree: [], n: [], dur: []};
var na = A.folder.length;
function albumGenre(i) { return A.top[i] === -2 ? "unknown" : A.top[i] < 0 ? "silent" : G[A.top[i]]; }
function albumName(i) { return A.title[i] || A.folder[i]; }
var AHAY = A.folder.map(function (f, i) {
  return (A.title[i] + "\n" + f + "\n" + albumGenre(i)).toLowerCase();
});
function pct(v) { return '<td class="num">' + (v === null ? "–" : v.toFixed(1)) + "</td>"; }
var ACOLS = [
  {key: "album", num: false, val: function (i) { return albumName(i).toLowerCase(); },
   cell: function (i) {
     return '<td class="name" title="' + esc(A.folder[i]) + '">' + esc(albumName(i)) + "</td>";
   }},
  {key: "folder", num: false, val: function (i) { return A.folder[i].toLowerCase(); },
   cell: function (i) { return "<td>" + esc(A.folder[i]) + "</td>"; }},
  {key: "genre", num: false, val: albumGenre,
   cell: function (i) {
     if (A.top[i] === -2) return '<td><i class="sw unknown"></i>unknown</td>';
     var c = A.top[i] < 0 ? D.silent_colour : COL[A.top[i]];
     return '<td><i class="sw" style="background:' + c + '"></i>' + albumGenre(i) + "</td>";
   }},
  {key: "score", num: true, val: function (i) { return A.score[i]; },
   cell: function (i) { return pct(A.score[i]); }},
  {key: "confidence", num: true, val: function (i) { return A.conf[i]; },
   cell: function (i) { return pct(A.conf[i]); }},
  {key: "agreement", num: true, val: function (i) { return A.agree[i]; },
   cell: function (i) { return pct(A.agree[i]); }},
  {key: "tracks", num: true, val: function (i) { return A.n[i]; },
   cell: function (i) { return '<td class="num">' + A.n[i] + "</td>"; }},
  {key: "duration", num: true, val: function (i) { return A.dur[i]; },
   cell: function (i) { return '<td class="num">' + mmss(A.dur[i]) + "</td>"; }}
];
var abody = document.querySelector("#albums tbody"), ashown = document.getElementById("ashown");
function selectedAlbums() {
  var words = state.aq.toLowerCase().split(/\s+/).filter(Boolean), rows = [];
  for (var i = 0; i < na; i++) {
    if (state.agenre && albumGenre(i) !== state.agenre) continue;
    var ok = true;
    for (var w = 0; w < words.length && ok; w++) ok = AHAY[i].indexOf(words[w]) >= 0;
    if (ok) rows.push(i);
  }
  var col = ACOLS.filter(function (c) { return c.key === state.asort; })[0] || ACOLS[0];
  var sign = state.adir === "desc" ? -1 : 1;
  rows.sort(function (a, b) {
    var x = col.val(a), y = col.val(b);
    if (col.num) { x = x === null ? -Infinity : x; y = y === null ? -Infinity : y; }
    var r = x < y ? -1 : x > y ? 1 : 0;
    return r ? sign * r : a - b;
  });
  return rows;
}
function renderAlbums() {
  var rows = selectedAlbums(), out = new Array(rows.length);
  for (var r = 0; r < rows.length; r++) {
    var i = rows[r], cells = "";
    for (var c = 0; c < ACOLS.length; c++) cells += ACOLS[c].cell(i);
    out[r] = '<tr data-a="' + i + '" tabindex="0">' + cells + "</tr>";
  }
  abody.innerHTML = rows.length ? out.join("") : '<tr class="none"><td>No album matches.</td></tr>';
  ashown.textContent = rows.length === na ? na + " albums" : rows.length + " of " + na + " albums";
  document.querySelectorAll("#albums th").forEach(function (th) {
    th.removeAttribute("aria-sort");
    if (th.dataset.key === state.asort) {
      th.setAttribute("aria-sort", state.adir === "desc" ? "descending" : "ascending");
    }
  });
}
var trackview = document.getElementById("trackview"), albumview = document.getElementById("albumview");
function showView() {
  var albums = state.view === "albums";
  albumview.hidden = !albums; trackview.hidden = albums;
  if (albums) { detail.hidden = true; }
  document.getElementById("view-albums").classList.toggle("current", albums);
  document.getElementById("view-tracks").classList.toggle("current", !albums);
}
var aq = document.getElementById("aq"), agenre = document.getElementById("agenre");
function albumsFromControls() {
  state.aq = aq.value; state.agenre = agenre.value; writeUrl(); renderAlbums();
}
function albumsToControls() { aq.value = state.aq; agenre.value = state.agenre; }
var atimer = null;
aq.addEventListener("input", function () {
  clearTimeout(atimer); atimer = setTimeout(albumsFromControls, 150);
});
agenre.addEventListener("change", albumsFromControls);
function openAlbum(ev) {  // the album's tracks: the track view showing only them ("clear" shows all)
  var tr = ev.target.closest("tr[data-a]");
  if (!tr) return;
  state.view = ""; state.album = tr.dataset.a; state.q = state.genre = state.match = state.t = "";
  toControls(); writeUrl(); showView(); render(); showDetail();
}
abody.addEventListener("click", openAlbum);
abody.addEventListener("keydown", function (ev) { if (ev.key === "Enter") openAlbum(ev); });
document.querySelectorAll("nav.views a").forEach(function (a) {
  a.addEventListener("click", function (ev) {
    ev.preventDefault(); state.view = a.dataset.view; writeUrl(); showView(); if (!state.view) showDetail();
  });
});
var AWIDTHS = {album: "minmax(14em, 2fr)", folder: "minmax(8em, 1.4fr)", genre: "7.5em", score: "6.5em",
  confidence: "9em", agreement: "8.5em", tracks: "5em", duration: "6.2em"};
document.getElementById("albums").style.setProperty("--cols", ACOLS.map(function (c) {
  return AWIDTHS[c.key];
}).join(" "));
document.querySelector("#albums thead tr").innerHTML = ACOLS.map(function (c) {
  var label = {album: "album", folder: "folder", genre: "top genre", score: "score %",
    confidence: "confidence %", agreement: "agreement %", tracks: "tracks", duration: "duration"}[c.key];
  return '<th scope="col" tabindex="0" data-key="' + c.key + '"' + (c.num ? ' data-num="1"' : "") + ">" +
    label + "</th>";
}).join("");
document.querySelectorAll("#albums th").forEach(function (th) {
  th.addEventListener("click", function () {
    if (state.asort === th.dataset.key) state.adir = state.adir === "asc" ? "desc" : "asc";
    else { state.asort = th.dataset.key; state.adir = th.dataset.num ? "desc" : "asc"; }
    writeUrl(); renderAlbums();
  });
  th.addEventListener("keydown", function (ev) { if (ev.key === "Enter") th.click(); });
});
// header cells: only the columns this run has, in a grid of fixed widths
var WIDTHS = {track: "minmax(14em, 2.2fr)", folder: "minmax(6em, 1fr)", genre: "7.5em", score: "6.5em",
  user: "minmax(6em, 0.8fr)",
  confidence: "9em", duration: "6.2em", label: "minmax(5em, 0.8fr)", match: "6em"};
document.getElementById("tracks").style.setProperty("--cols", COLS.map(function (c) {
  return WIDTHS[c.key];
}).join(" "));
var head = document.querySelector("#tracks thead tr");
head.innerHTML = COLS.map(function (c) {
  var label = {track: "track", folder: "folder", genre: "top genre", score: "score %", user: "your genre",
    confidence: D.conf_percent ? "confidence %" : "confidence", duration: "duration", label: "label",
    match: "match"}[c.key];
  return '<th scope="col" tabindex="0" data-key="' + c.key + '"' + (c.num ? ' data-num="1"' : "") + ">" +
    label + "</th>";
}).join("");
document.querySelectorAll("#tracks th").forEach(function (th) {
  th.addEventListener("click", function () {
    if (state.sort === th.dataset.key) state.dir = state.dir === "asc" ? "desc" : "asc";
    else { state.sort = th.dataset.key; state.dir = th.dataset.num ? "desc" : "asc"; }
    writeUrl(); render();
  });
  th.addEventListener("keydown", function (ev) { if (ev.key === "Enter") th.click(); });
});
readUrl(); toControls(); albumsToControls(); showView(); render(); renderAlbums();
if (!state.view) showDetail();
document.body.dataset.renderMs = String(Math.round(performance.now() - t0));
document.body.dataset.ready = "1";
// since navigation began: the file read and parsed, the table built, then laid out and painted
document.body.dataset.readyMs = String(Math.round(performance.now()));
requestAnimationFrame(function () {
  setTimeout(function () { document.body.dataset.paintedMs = String(Math.round(performance.now())); }, 0);
});
})();
