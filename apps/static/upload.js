// Shows the answer of /predict in the page: the top genre, one bar per genre, then the JSON.
// Without script the form posts to /predict itself and the browser shows the JSON.
"use strict";
function showAnswer(j) {
  const result = document.getElementById("result");
  const top = document.getElementById("top");
  const bars = document.getElementById("bars");
  bars.replaceChildren();
  if (!j.top_genre) {  // an error answer, or a silent file (no genre)
    result.hidden = !j.error;
    top.textContent = j.error ? "error: " + j.error : "";
    return;
  }
  top.textContent = "top genre: " + j.top_genre +
    (typeof j.confidence === "number" ? " (confidence " + j.confidence.toFixed(3) + ")" : "");
  const scores = Object.entries(j.genres || {}).sort((a, b) => b[1] - a[1]);
  for (const [genre, pct] of scores) {
    const row = document.createElement("div");
    row.className = genre === j.top_genre ? "bar top" : "bar";
    row.dataset.genre = genre;
    const name = document.createElement("span");
    name.textContent = genre;
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.display = "block";
    fill.style.width = Math.max(0, Math.min(100, pct)).toFixed(1) + "%";
    track.append(fill);
    const value = document.createElement("span");
    value.className = "pct";
    value.textContent = pct.toFixed(1) + "%";
    row.append(name, track, value);
    bars.append(row);
  }
  result.hidden = false;
}
document.getElementById("f").addEventListener("submit", async (e) => {
  e.preventDefault();
  const out = document.getElementById("out");
  document.getElementById("result").hidden = true;
  out.hidden = false; out.textContent = "classifying...";
  try {
    const r = await fetch("/predict", {method: "POST", body: new FormData(e.target)});
    const j = await r.json();
    showAnswer(j);
    out.textContent = JSON.stringify(j, null, 2);
  } catch (err) { out.textContent = "failed: " + err; }
});
