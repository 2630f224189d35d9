// Stoker's web view: plain DOM code over the public /v1 API. Job data is user data, so every value
// goes into the page as text (text nodes and attributes), never parsed as HTML.
"use strict";

(() => {
  const API = "../v1"; // the page is served at /ui/: relative, so it follows any path prefix
  const KEY_STORE = "stoker.apiKey";
  const REFRESH_MS = 3000;
  const PAGE_SIZE = 50;
  const MAX_ROWS = 500; // the API's largest page
  const STATUSES = ["queued", "scheduled", "running", "succeeded", "failed", "canceled", "expired"];
  const RETRYABLE = new Set(["failed", "canceled", "expired"]);
  const CANCELABLE = new Set(["queued", "scheduled", "running"]);

  const $ = (selector) => document.querySelector(selector);
  const state = {
    caller: null, // the answer of /v1/whoami
    cursor: null,
    shown: PAGE_SIZE,
    filters: null,
    queues: [], // queue names, as /v1/queues last listed them
    queueNames: "",
    job: null, // the id of the job open in the detail panel
    current: null, // that job as last read
    resultFor: null,
    stream: null, // AbortController of the open event stream
    refreshing: false,
    refreshFailed: false, // the notice shows why the last refresh failed; the next good one clears it
    timer: null,
  };

  class ApiFailure extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "onclick") node.addEventListener("click", value);
      else node.setAttribute(name, String(value));
    }
    node.append(...children.map((child) => (child instanceof Node ? child : String(child ?? ""))));
    return node;
  }

  // --- the API ---

  function authHeaders() {
    const key = sessionStorage.getItem(KEY_STORE);
    return key ? { Authorization: `Bearer ${key}` } : {};
  }

  async function failure(response) {
    const body = await response.json().catch(() => null);
    const error = (body && body.error) || {};
    return new ApiFailure(response.status, error.code || `http_${response.status}`, error.message || response.statusText);
  }

  async function api(path, method = "GET") {
    const response = await fetch(`${API}${path}`, { method, headers: { Accept: "application/json", ...authHeaders() } });
    if (!response.ok) throw await failure(response);
    return response.json();
  }

  const jobPath = (id) => `/jobs/${encodeURIComponent(id)}`;

  // --- formatting ---

  function seconds(value) {
    if (value === null || value === undefined) return "–";
    if (value < 60) return `${value.toFixed(1)} s`;
    if (value < 3600) return `${(value / 60).toFixed(1)} min`;
    return `${(value / 3600).toFixed(1)} h`;
  }

  function when(iso) {
    if (!iso) return "–";
    return el("time", { datetime: iso, title: iso }, new Date(iso).toLocaleString());
  }

  function statusBadge(status) {
    return el("span", { class: `status status-${status}`, "data-status": status }, status);
  }

  function progressText(progress) {
    if (!progress) return "–";
    const percent = `${Math.round(progress.fraction * 100)}%`;
    return progress.message ? `${percent} ${progress.message}` : percent;
  }

  function progressView(progress) {
    if (!progress) return "–";
    return el("span", {}, el("progress", { max: 1, value: progress.fraction }), " ", progressText(progress));
  }

  function attemptsText(attempts) {
    const spent = Object.entries(attempts).filter(([, n]) => n > 0);
    return spent.length ? spent.map(([cause, n]) => `${n} ${cause}`).join(", ") : "–";
  }

  function errorText(error) {
    const parts = [`${error.code}: ${error.message}`];
    const details = error.details;
    if (details && typeof details === "object" && typeof details.traceback === "string") {
      const { traceback, ...rest } = details;
      if (Object.keys(rest).length) parts.push(JSON.stringify(rest, null, 2));
      parts.push(traceback);
    } else if (details !== null && details !== undefined) {
      parts.push(JSON.stringify(details, null, 2));
    }
    return parts.join("\n\n");
  }

  // --- where the page is: #queue=…&status=…&job=… ---

  function route() {
    const params = new URLSearchParams(location.hash.slice(1));
    return { queue: params.get("queue") || "", status: params.get("status") || "", job: params.get("job") || "" };
  }

  function hrefFor(changes) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries({ ...route(), ...changes })) if (value) params.set(name, value);
    return `#${params}`;
  }

  function go(changes) {
    location.hash = hrefFor(changes);
  }

  // --- notices and the key ---

  function showNotice(text) {
    $("#notice").textContent = text;
    $("#notice").hidden = false;
  }

  function hideNotice() {
    $("#notice").hidden = true;
  }

  function report(err) {
    if (err instanceof ApiFailure && err.status === 401) {
      askForKey(`The API did not accept the key: ${err.message}`);
      return;
    }
    showNotice(err instanceof ApiFailure ? `${err.code}: ${err.message}` : String(err));
  }

  function askForKey(message) {
    sessionStorage.removeItem(KEY_STORE);
    state.caller = null;
    clearInterval(state.timer);
    closeDetail();
    $("#board").hidden = true;
    $("#sign-in").hidden = false;
    $("#forget-key").hidden = true;
    $("#who").replaceChildren();
    if (message) showNotice(message);
    else hideNotice();
    $("#key-input").focus();
  }

  async function start() {
    try {
      state.caller = await api("/whoami");
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 401) {
        askForKey(sessionStorage.getItem(KEY_STORE) ? "The API did not accept the key." : "");
      } else {
        report(err);
      }
      return;
    }
    showBoard();
  }

  function showBoard() {
    const caller = state.caller;
    const role = caller.admin ? "admin" : "user";
    $("#who").replaceChildren(
      caller.auth_disabled
        ? el("span", { id: "role", class: "role role-open" }, "no keys (local)")
        : el("span", {}, "key ", el("code", {}, caller.key_id), " ", el("span", { id: "role", class: `role role-${role}` }, role)),
    );
    $("#forget-key").hidden = caller.auth_disabled;
    $("#sign-in").hidden = true;
    $("#board").hidden = false;
    hideNotice();
    applyRoute();
    refresh();
    clearInterval(state.timer);
    state.timer = setInterval(() => document.hidden || refresh(), REFRESH_MS);
  }

  // --- queues, jobs, workers ---

  const num = (value) => el("td", { class: "num" }, value);

  async function loadQueues() {
    const page = await api("/queues");
    $("#queues tbody").replaceChildren(
      ...page.items.map((q) =>
        el(
          "tr",
          { "data-queue": q.name },
          el("td", {}, el("a", { href: hrefFor({ queue: q.name }) }, q.name)),
          num(q.waiting_total),
          num(q.waiting.high),
          num(q.waiting.normal),
          num(q.waiting.low),
          num(q.scheduled),
          num(q.running),
          num(q.dead),
          num(seconds(q.oldest_waiting_age_s)),
          num(q.workers),
          el("td", {}, q.paused ? "paused" : "active"),
        ),
      ),
    );
    state.queues = page.items.map((q) => q.name);
    fillQueueFilter();
  }

  function fillQueueFilter() {
    const wanted = route().queue;
    const all = [...new Set([...state.queues, ...(wanted ? [wanted] : [])])].sort();
    if (all.join("\n") === state.queueNames) return; // leave an open select alone
    state.queueNames = all.join("\n");
    const select = $("#filter-queue");
    select.replaceChildren(el("option", { value: "" }, "all"), ...all.map((name) => el("option", { value: name }, name)));
    select.value = wanted;
  }

  function jobRow(job) {
    return el(
      "tr",
      { "data-job-id": job.id, class: job.id === state.job ? "selected" : null },
      el("td", {}, el("a", { class: "job-link", href: hrefFor({ job: job.id }) }, job.id)),
      el("td", {}, job.task),
      el("td", {}, job.queue),
      el("td", {}, statusBadge(job.status)),
      el("td", {}, progressText(job.progress)),
      el("td", {}, attemptsText(job.attempts)),
      el("td", {}, when(job.created_at)),
    );
  }

  async function loadJobs({ more = false } = {}) {
    const { queue, status } = route();
    const params = new URLSearchParams({ limit: String(more ? PAGE_SIZE : Math.min(state.shown, MAX_ROWS)) });
    if (queue) params.set("queue", queue);
    if (status) params.set("status", status);
    if (more && state.cursor) params.set("cursor", state.cursor);
    const page = await api(`/jobs?${params}`);
    const body = $("#jobs tbody");
    const rows = page.items.map(jobRow);
    if (more) {
      body.append(...rows);
      state.shown += rows.length;
    } else {
      body.replaceChildren(...rows);
    }
    state.cursor = page.next_cursor;
    $("#more").hidden = !page.next_cursor;
    $("#jobs-empty").hidden = body.children.length > 0;
  }

  async function loadWorkers() {
    const page = await api("/workers");
    $("#workers tbody").replaceChildren(
      ...page.items.map((w) =>
        el(
          "tr",
          { "data-worker": w.id },
          el("td", {}, w.id),
          el("td", {}, w.queues.join(", ")),
          el("td", {}, w.gpu_name ? `${w.device} (${w.gpu_name})` : w.device),
          num(`${w.busy}/${w.slots}`),
          num(w.processed),
          el("td", {}, when(w.last_heartbeat)),
        ),
      ),
    );
  }

  async function refresh() {
    if (state.refreshing || !state.caller) return;
    state.refreshing = true;
    try {
      await Promise.all([loadQueues(), loadJobs(), loadWorkers()]);
      if (state.refreshFailed) hideNotice();
      state.refreshFailed = false;
    } catch (err) {
      report(err);
      state.refreshFailed = true;
    } finally {
      state.refreshing = false;
    }
  }

  // --- one job: fields, error, result, live events, actions ---

  function field(key, label, value) {
    return [el("dt", {}, label), el("dd", { "data-field": key }, value)];
  }

  function renderJob(job) {
    state.current = job;
    const { timings, webhook } = job;
    $("#detail-fields").replaceChildren(
      ...field("status", "Status", statusBadge(job.status)),
      ...field("task", "Task", job.task),
      ...field("queue", "Queue", job.queue),
      ...field("priority", "Priority", job.priority),
      ...field("progress", "Progress", progressView(job.progress)),
      ...field("attempts", "Attempts", attemptsText(job.attempts)),
      ...field("created", "Created", when(job.created_at)),
      ...field("scheduled", "Scheduled for", when(job.scheduled_for)),
      ...field("started", "Started", when(job.started_at)),
      ...field("finished", "Finished", when(job.finished_at)),
      ...field("timings", "Wait / run / total", [timings.wait_s, timings.run_s, timings.total_s].map(seconds).join(" / ")),
      ...field("worker", "Worker", job.worker || "–"),
      ...field("cancel", "Cancel requested", job.cancel_requested ? "yes" : "no"),
      ...field("metadata", "Metadata", Object.keys(job.metadata).length ? JSON.stringify(job.metadata) : "–"),
      ...field("webhook", "Webhook", webhook ? `${webhook.state}, ${webhook.attempts} attempts ${webhook.error || ""}` : "–"),
    );
    $("#detail-error").textContent = job.error ? errorText(job.error) : "–";
    if (job.status !== "succeeded") {
      $("#detail-result").textContent = "–";
      state.resultFor = null;
    } else if (state.resultFor !== job.id) {
      state.resultFor = job.id;
      loadResult(job.id);
    }
    renderActions(job);
    const row = document.querySelector(`#jobs tr[data-job-id="${CSS.escape(job.id)}"]`);
    if (row) row.replaceWith(jobRow(job));
  }

  function renderProgress(event) {
    const dd = document.querySelector('#detail-fields dd[data-field="progress"]');
    if (dd) dd.replaceChildren(progressView(event));
  }

  async function loadResult(id) {
    let text;
    try {
      text = JSON.stringify((await api(`${jobPath(id)}/result`)).output, null, 2);
    } catch (err) {
      text = err instanceof ApiFailure ? `${err.code}: ${err.message}` : String(err);
    }
    if (state.job === id) $("#detail-result").textContent = text;
  }

  function renderActions(job) {
    const buttons = [];
    if (state.caller && state.caller.admin) {
      if (RETRYABLE.has(job.status)) {
        buttons.push(el("button", { type: "button", id: "retry", onclick: () => act(job.id, "retry") }, "Retry"));
      }
      if (CANCELABLE.has(job.status) && !job.cancel_requested) {
        buttons.push(el("button", { type: "button", id: "cancel", onclick: () => act(job.id, "cancel") }, "Cancel"));
      }
    }
    $("#detail-actions").replaceChildren(...buttons);
  }

  async function act(id, action) {
    for (const button of document.querySelectorAll("#detail-actions button")) button.disabled = true;
    try {
      const job = await api(`${jobPath(id)}/${action}`, "POST");
      if (state.job !== id) return;
      logEvent(action, { status: job.status });
      renderJob(job);
      if (!state.stream) follow(id); // a retried job runs again: follow its new events
      refresh();
    } catch (err) {
      report(err);
      if (state.current) renderActions(state.current);
    }
  }

  function logEvent(name, data) {
    let text;
    if (name === "status") text = data.error ? `${data.status} (${data.error.code})` : data.status;
    else if (name === "progress") text = progressText(data);
    else if (name === "end") text = `ended ${data.status}`;
    else if (name === "retry" || name === "cancel") text = `asked here; now ${data.status}`;
    else text = JSON.stringify(data);
    $("#detail-events").append(
      el("li", { "data-event": name }, el("time", {}, new Date().toLocaleTimeString()), " ", el("strong", {}, name), " ", text),
    );
  }

  function parseEvent(block) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue; // a keep-alive comment
      const colon = line.indexOf(":");
      const key = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (key === "event") name = value;
      else if (key === "data") data.push(value);
    }
    if (!data.length) return null;
    try {
      return { name, data: JSON.parse(data.join("\n")) };
    } catch {
      return null;
    }
  }

  function onEvent(id, { name, data }) {
    logEvent(name, data);
    if (name === "status") renderJob(data);
    else if (name === "progress") renderProgress(data);
    else if (name === "timeout") follow(id); // the API closes long streams: open the next one
  }

  // EventSource cannot send an Authorization header, so the stream is read with fetch.
  async function follow(id) {
    stopStream();
    const controller = new AbortController();
    state.stream = controller;
    try {
      const response = await fetch(`${API}${jobPath(id)}/events`, {
        headers: { Accept: "text/event-stream", ...authHeaders() },
        signal: controller.signal,
      });
      if (!response.ok) throw await failure(response);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
          const event = parseEvent(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (event && state.stream === controller) onEvent(id, event);
        }
      }
    } catch (err) {
      if (err.name !== "AbortError" && state.job === id) report(err);
    } finally {
      if (state.stream === controller) state.stream = null;
    }
  }

  function stopStream() {
    if (state.stream) state.stream.abort();
    state.stream = null;
  }

  function openDetail(id) {
    state.job = id;
    state.current = null;
    state.resultFor = null;
    $("#detail").hidden = false;
    $("#detail-id").textContent = id;
    for (const selector of ["#detail-fields", "#detail-events", "#detail-actions"]) $(selector).replaceChildren();
    $("#detail-error").textContent = "";
    $("#detail-result").textContent = "";
    follow(id); // its first event is the whole job
  }

  function closeDetail() {
    stopStream();
    state.job = null;
    state.current = null;
    $("#detail").hidden = true;
  }

  function applyRoute() {
    const { queue, status, job } = route();
    fillQueueFilter();
    $("#filter-queue").value = queue;
    $("#filter-status").value = status;
    if (job !== (state.job || "")) {
      if (job) openDetail(job);
      else closeDetail();
    }
    for (const row of document.querySelectorAll("#jobs tr[data-job-id]")) {
      row.classList.toggle("selected", row.dataset.jobId === job);
    }
    if (`${queue}|${status}` !== state.filters) {
      state.filters = `${queue}|${status}`;
      state.shown = PAGE_SIZE;
      if (state.caller) loadJobs().catch(report);
    }
  }

  function wire() {
    $("#filter-status").append(...STATUSES.map((s) => el("option", { value: s }, s)));
    $("#key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = $("#key-input").value.trim();
      $("#key-input").value = "";
      if (!key) return;
      sessionStorage.setItem(KEY_STORE, key);
      start();
    });
    $("#forget-key").addEventListener("click", () => askForKey(""));
    $("#notice").addEventListener("click", hideNotice);
    $("#filter-queue").addEventListener("change", (event) => go({ queue: event.target.value }));
    $("#filter-status").addEventListener("change", (event) => go({ status: event.target.value }));
    $("#refresh").addEventListener("click", () => refresh());
    $("#more").addEventListener("click", () => loadJobs({ more: true }).catch(report));
    $("#detail-close").addEventListener("click", (event) => {
      event.preventDefault();
      go({ job: "" });
    });
    window.addEventListener("hashchange", () => state.caller && applyRoute());
  }

  wire();
  start();
})();
