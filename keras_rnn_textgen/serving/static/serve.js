// The serve page: streams tokens from GET /stream (server-sent events) into the output.
// Query parameters fill the form (?prompt=...&seed=3&greedy=1); autostart=1 presses
// Generate, and autostop=N presses Stop after N tokens (what the browser tests use).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const form = $("form"), stopButton = $("stop"), generateButton = $("generate");
  const generated = $("generated"), status = $("status");
  const fields = ["temperature", "top_k", "top_p", "length", "seed"];
  let source = null;
  let count = 0;
  let autostop = 0;

  // Probability -> hue: 0 (red) at 0.01 or less, 120 (green) at 1, on a log scale.
  const hue = (p) => Math.round(120 * Math.min(1, Math.max(0, (Math.log10(p) + 2) / 2)));

  function setStatus(text, isError) {
    status.textContent = text;
    status.className = isError ? "error" : "muted";
  }

  function finish(text, isError) {
    if (source) source.close(); // closing the connection stops the server's generation
    source = null;
    stopButton.disabled = true;
    generateButton.disabled = false;
    setStatus(text, isError);
  }

  function query() {
    const params = new URLSearchParams();
    params.set("prompt", $("prompt").value);
    if ($("greedy").checked) params.set("greedy", "true");
    for (const name of fields) {
      if (!($("greedy").checked && ["temperature", "top_k", "top_p"].includes(name))) {
        params.set(name, $(name).value);
      }
    }
    return params.toString();
  }

  // An EventSource says nothing of why a request failed: ask again to read the message.
  async function explainFailure(url) {
    const controller = new AbortController();
    try {
      const response = await fetch(url, { signal: controller.signal });
      if (!response.ok) {
        const body = await response.json();
        finish("error: " + body.error, true);
        return;
      }
      controller.abort();
    } catch (e) { /* the server is gone */ }
    finish("error: the connection failed", true);
  }

  function start() {
    if (source) finish("stopped", false);
    generated.textContent = "";
    $("shown-prompt").textContent = $("prompt").value;
    count = 0;
    const url = "/stream?" + query();
    source = new EventSource(url);
    stopButton.disabled = false;
    generateButton.disabled = true;
    setStatus("generating...", false);
    source.onmessage = (event) => {
      const token = JSON.parse(event.data);
      const span = document.createElement("span");
      span.textContent = token.text;
      span.style.setProperty("--hue", hue(token.p));
      span.title = "p = " + token.p;
      generated.appendChild(span);
      count += 1;
      setStatus("generating... " + count + " tokens", false);
      if (autostop && count >= autostop) finish("stopped after " + count + " tokens", false);
    };
    source.addEventListener("done", () => finish("done: " + count + " tokens", false));
    source.onerror = () => {
      if (!source) return;
      const failed = source;
      source = null;
      failed.close();
      if (count === 0) explainFailure(url);
      else finish("error: the connection broke after " + count + " tokens", true);
    };
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    start();
  });
  $("prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !generateButton.disabled) {
      event.preventDefault();
      start();
    }
  });
  for (const span of $("legend").querySelectorAll("span")) {
    span.style.setProperty("--hue", hue(parseFloat(span.textContent)));
  }
  stopButton.addEventListener("click", () => finish("stopped after " + count + " tokens", false));
  $("inspect").addEventListener("change", () => {
    $("output").classList.toggle("inspect", $("inspect").checked);
    $("legend").hidden = !$("inspect").checked;
  });

  const params = new URLSearchParams(window.location.search);
  if (params.has("prompt")) $("prompt").value = params.get("prompt");
  for (const name of fields) if (params.has(name)) $(name).value = params.get(name);
  if (["1", "true", "on"].includes(params.get("greedy"))) $("greedy").checked = true;
  if (["1", "true", "on"].includes(params.get("inspect"))) {
    $("inspect").checked = true;
    $("inspect").dispatchEvent(new Event("change"));
  }
  autostop = parseInt(params.get("autostop") || "0", 10);
  if (["1", "true", "on"].includes(params.get("autostart"))) start();
})();
