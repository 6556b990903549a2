// The provider-keys page. The bearer token lives in this module's memory only: never in the URL, a cookie,
// localStorage or sessionStorage. Text reaches the DOM through textContent only (the CSP enforces it with
// Trusted Types), and a key is sent once, in the POST body, then cleared from the form.

const API = "api/user-api-keys";
const PROVIDERS = { anthropic: "Anthropic", openai: "OpenAI", gemini: "Google Gemini", openrouter: "OpenRouter" };

const state = { token: null, claims: null, keys: [], formats: null, removing: null };

const $ = (id) => document.getElementById(id);
const embedOrigins = (document.querySelector('meta[name="byok-embed-origins"]')?.content || "")
  .split(/\s+/)
  .filter(Boolean)
  .map((origin) => (origin === "'self'" ? window.location.origin : origin));
const embedded = window.parent !== window && embedOrigins.length > 0;

// ---- the format check, the same rules as the service's (served at keys/formats.json) ----

const ARTICLE = { anthropic: "An", openai: "An", gemini: "A", openrouter: "An" };

// A sentence for each reason code of the service's format check (its 422 carries the same codes).
function explain(provider, reason) {
  const fmt = state.formats?.providers?.[provider];
  const one = `${ARTICLE[provider] || "A"} ${providerName(provider)} key`;
  const oneLower = one.replace(/^An? /, (article) => article.toLowerCase());
  switch (reason) {
    case "empty":
      return "Paste the key first.";
    case "too_long":
      return fmt ? `Too long: ${oneLower} has at most ${fmt.maxLength} characters.` : "The key is too long.";
    case "invalid_characters":
      return "A key has only letters, digits, '-' and '_': remove spaces and other characters.";
    case "wrong_prefix":
      return fmt
        ? `This does not look like ${oneLower}. ${one} ${fmt.description}; check the provider you chose.`
        : `This does not look like ${oneLower}. Check the provider you chose.`;
    case "too_short":
      return fmt ? `Too short: ${oneLower} has at least ${fmt.minLength} characters.` : "The key is too short.";
    default:
      return `This does not look like ${oneLower}.`;
  }
}

// The rules of the service's domain/formats.py, in the same order; null when the key may be sent.
function checkKey(provider, raw) {
  const fmt = state.formats?.providers?.[provider];
  if (!fmt) return null; // formats not loaded: the service still checks
  const key = raw.trim();
  let reason = null;
  if (!key) reason = "empty";
  else if (key.length > fmt.maxLength) reason = "too_long";
  else if (!new RegExp(state.formats.keyChars).test(key)) reason = "invalid_characters";
  else if (fmt.forbiddenPrefixes.some((p) => key.startsWith(p)) || !fmt.prefixes.some((p) => key.startsWith(p))) {
    reason = "wrong_prefix";
  } else if (key.length < fmt.minLength) reason = "too_short";
  return reason && { reason, message: explain(provider, reason) };
}
globalThis.byokCheckKey = checkKey; // for the browser tests, which compare it with the service's rules

async function loadFormats() {
  try {
    const r = await fetch("keys/formats.json", { credentials: "omit" });
    if (r.ok) state.formats = await r.json();
  } catch {
    // the service checks every key anyway
  }
  updateEditor();
}

// ---- the API ----

class ApiError extends Error {
  constructor(status, code, message, reason) {
    super(message);
    this.status = status;
    this.code = code;
    this.reason = reason;
  }
}

// A 401 on any call ends the session (the token expired or was revoked), except while signing in,
// where the sign-in form says so itself.
async function api(method, path, body, { signingIn = false } = {}) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network", "The key service could not be reached. Check your connection and try again.");
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.status === 401 && !signingIn) sessionEnded();
  if (!response.ok) {
    const error = data?.error || {};
    throw new ApiError(
      response.status,
      error.code || "http_error",
      error.message || `HTTP ${response.status}`,
      error.reason,
    );
  }
  return data;
}

// ---- sign in and out ----

function decodeClaims(token) {
  // Only to show who is signed in and whether to offer org keys; the service verifies the token.
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
    return typeof claims === "object" && claims ? claims : null;
  } catch {
    return null;
  }
}

async function signIn(token) {
  const claims = decodeClaims(token);
  if (!claims) {
    showFieldError("token", "This does not look like an access token. Copy the whole token and try again.");
    return false;
  }
  state.token = token;
  state.claims = claims;
  try {
    await loadKeys({ signingIn: true });
  } catch (error) {
    state.token = null;
    state.claims = null;
    showFieldError(
      "token",
      error.status === 401 ? "The service refused this token: it is invalid or has expired." : error.message,
    );
    $("token").focus();
    return false;
  }
  $("token").value = "";
  showFieldError("token", "");
  $("sign-in").hidden = true;
  $("workspace").hidden = false;
  $("who").hidden = false;
  const role = claims.role === "admin" ? "admin" : "member";
  $("who-text").textContent = `Signed in as ${claims.sub} · ${claims.tenant} · ${role}`;
  const admin = claims.role === "admin";
  $("org-keys").hidden = !admin;
  $("scope-field").hidden = !admin;
  if (!admin) checkedScope("user");
  updateEditor();
  $("user-keys-title").setAttribute("tabindex", "-1");
  $("user-keys-title").focus();
  return true;
}

function signOut(message) {
  state.token = null;
  state.claims = null;
  state.keys = [];
  $("api-key").value = "";
  for (const scope of ["user", "org"]) {
    // nothing of this user's stays in the page for whoever signs in next
    $(`${scope}-keys-table`).tBodies[0].replaceChildren();
    $(`${scope}-keys-table`).hidden = true;
  }
  $("who-text").textContent = "";
  $("replace-note").replaceChildren();
  $("workspace").hidden = true;
  $("who").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-waiting").hidden = true;
  showAlert("");
  notify(message || "You are signed out.");
  $("token").focus();
}

function postToParent(message) {
  for (const origin of embedOrigins) window.parent.postMessage(message, origin);
}

// ---- the lists ----

function sessionEnded() {
  if (!state.token) return;
  signOut("Your session has ended (the token is invalid or has expired). Sign in again.");
  if (embedded) postToParent({ type: "byok-keys:token-expired" });
}

async function loadKeys({ signingIn = false } = {}) {
  const data = await api("GET", API, undefined, { signingIn });
  state.keys = Array.isArray(data?.keys) ? data.keys : [];
  renderKeys();
  updateEditor();
}

function providerName(provider) {
  return PROVIDERS[provider] || provider;
}

function formatDate(value, withTime = false) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  const options = withTime ? { dateStyle: "medium", timeStyle: "short" } : { dateStyle: "medium" };
  return new Intl.DateTimeFormat(undefined, options).format(date);
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function whose(key) {
  return key.scope === "org" ? `the organisation's ${providerName(key.keyType)} key` : `your ${providerName(key.keyType)} key`;
}

const STATUS = {
  active: { label: "Active", cls: "ok", help: "" },
  invalid: {
    label: "Rejected",
    cls: "bad",
    help: "The provider rejected this key. Requests that would use it fail until you replace it with a working key or remove it.",
  },
  forbidden: {
    label: "Not allowed",
    cls: "warn",
    help: "The provider accepted this key but refused a model, region or feature. Check the key's permissions in the provider's console.",
  },
};

function statusCell(key) {
  const known = STATUS[key.status] || { label: String(key.status), cls: "warn", help: "" };
  const cell = el("td", { "data-label": "Status", class: "status" });
  cell.append(el("span", { class: `badge ${known.cls}` }, known.label));
  if (known.help) cell.append(el("span", { class: "status-help" }, known.help));
  return cell;
}

function keyRow(key) {
  const name = providerName(key.keyType);
  const row = el("tr", { "data-provider": key.keyType, "data-scope": key.scope, class: `status-${key.status}` });
  row.append(
    el("th", { scope: "row", "data-label": "Provider" }, name),
    el("td", { "data-label": "Fingerprint" }, el("code", {}, key.fingerprint)),
    el("td", { "data-label": "Version", class: "version" }, String(key.version)),
    el(
      "td",
      { "data-label": "Updated", class: "dates" },
      el(
        "span",
        {},
        el("time", { datetime: key.updatedAt }, formatDate(key.updatedAt, true)),
        el("span", { class: "added" }, "added ", el("time", { datetime: key.createdAt }, formatDate(key.createdAt))),
      ),
    ),
    statusCell(key),
  );
  const replace = el("button", { type: "button", class: "secondary", "aria-label": `Replace ${whose(key)}` }, "Replace");
  replace.addEventListener("click", () => startReplace(key));
  const remove = el("button", { type: "button", class: "danger-quiet", "aria-label": `Remove ${whose(key)}` }, "Remove");
  remove.addEventListener("click", () => confirmRemove(key));
  row.append(el("td", { class: "row-actions" }, replace, remove));
  return row;
}

function renderTable(scope) {
  const keys = state.keys.filter((k) => k.scope === scope);
  const table = $(`${scope}-keys-table`);
  table.tBodies[0].replaceChildren(...keys.map(keyRow));
  table.hidden = keys.length === 0;
  $(`${scope}-keys-empty`).hidden = keys.length !== 0;
}

function renderKeys() {
  renderTable("user");
  if (state.claims?.role === "admin") {
    renderTable("org");
    $("org-keys-title").textContent = `Organisation keys · ${state.claims.tenant}`;
  }
}

// ---- the editor: add or replace ----

function checkedScope(value) {
  const radios = document.querySelectorAll('input[name="scope"]');
  if (value) for (const r of radios) r.checked = r.value === value;
  for (const r of radios) if (r.checked) return r.value;
  return "user";
}

function currentKey(provider, scope) {
  return state.keys.find((k) => k.keyType === provider && k.scope === scope) || null;
}

function updateEditor() {
  const provider = $("provider").value;
  const scope = checkedScope();
  const fmt = state.formats?.providers?.[provider];
  const hint = $("api-key-hint");
  hint.replaceChildren();
  if (fmt) {
    // "starts with sk-ant-": the prefixes as code, so a line never breaks inside one
    hint.append(`${ARTICLE[provider] || "A"} ${providerName(provider)} key `);
    for (const [i, word] of fmt.description.split(" ").entries()) {
      const prefix = fmt.prefixes.includes(word.replace(/,$/, ""));
      hint.append(i ? " " : "", prefix ? el("code", { class: "nowrap" }, word) : word);
    }
    hint.append(". It is checked before it is sent.");
  }
  const existing = currentKey(provider, scope);
  const note = $("replace-note");
  if (existing) {
    $("editor-title").textContent = "Replace a key";
    $("save").textContent = "Replace key";
    note.replaceChildren(
      `This replaces ${whose(existing)} (version ${existing.version}, `,
      el("code", { class: "nowrap" }, existing.fingerprint),
      "). The new key is used from the next request on.",
    );
    note.hidden = false;
  } else {
    $("editor-title").textContent = "Add a key";
    $("save").textContent = "Save key";
    note.replaceChildren();
    note.hidden = true;
  }
}

function startReplace(key) {
  $("provider").value = key.keyType;
  checkedScope(key.scope);
  showFieldError("api-key", "");
  updateEditor();
  $("api-key").focus();
}

function showFieldError(field, message) {
  const input = $(field);
  $(`${field}-error`).textContent = message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function notify(message) {
  $("notice").textContent = message;
}

function showAlert(message) {
  $("alert").textContent = message;
  $("alert").hidden = !message;
}

async function saveKey(event) {
  event.preventDefault();
  const provider = $("provider").value;
  const scope = state.claims?.role === "admin" ? checkedScope() : "user";
  const input = $("api-key");
  const problem = checkKey(provider, input.value);
  if (problem) {
    showFieldError("api-key", problem.message);
    input.focus();
    return;
  }
  showFieldError("api-key", "");
  showAlert("");
  const button = $("save");
  button.disabled = true;
  $("key-form").setAttribute("aria-busy", "true");
  try {
    const saved = await api("POST", API, { keyType: provider, apiKey: input.value, scope });
    input.value = "";
    notify(`Saved ${whose(saved)}: version ${saved.version}, fingerprint ${saved.fingerprint}.`);
    await loadKeys();
  } catch (error) {
    if (error.code === "invalid_key_format") {
      showFieldError("api-key", explain(provider, error.reason));
      input.focus();
    } else if (error.status !== 401) {
      showAlert(messageFor(error));
    }
  } finally {
    button.disabled = false;
    $("key-form").removeAttribute("aria-busy");
  }
}

function messageFor(error) {
  switch (error.code) {
    case "forbidden":
      return "Only admins can change organisation keys.";
    case "key_store_unavailable":
    case "conflict":
      return "The key could not be saved just now. Try again in a moment.";
    default:
      return error.message;
  }
}

// ---- remove, after a confirmation ----

function confirmRemove(key) {
  state.removing = key;
  const fallback = key.scope === "org" ? "the platform's key" : "your organisation's key or the platform's";
  $("confirm-title").textContent = `Remove ${whose(key)}?`;
  $("confirm-text").textContent =
    `Fingerprint ${key.fingerprint}, version ${key.version}. Every version is destroyed; requests for ` +
    `${providerName(key.keyType)} then use ${fallback}. This cannot be undone.`;
  $("confirm").showModal();
}

async function removeConfirmed() {
  const key = state.removing;
  $("confirm").close("remove");
  if (!key) return;
  state.removing = null;
  try {
    await api("DELETE", `${API}/${encodeURIComponent(key.keyType)}?scope=${encodeURIComponent(key.scope)}`);
    notify(`Removed ${whose(key)}.`);
  } catch (error) {
    if (error.status === 404) notify(`${whose(key)} was already removed.`);
    else if (error.status !== 401) showAlert(messageFor(error));
  }
  if (state.token) {
    try {
      await loadKeys();
    } catch (error) {
      if (error.status !== 401) showAlert(messageFor(error));
    }
    $(`${key.scope}-keys-title`).setAttribute("tabindex", "-1");
    $(`${key.scope}-keys-title`).focus();
  }
}

// ---- wiring ----

function onEmbedMessage(event) {
  if (event.source !== window.parent || !embedOrigins.includes(event.origin)) return;
  const data = event.data;
  if (data?.type === "byok-keys:token" && typeof data.token === "string") {
    signIn(data.token);
  } else if (data?.type === "byok-keys:sign-out") {
    signOut();
  }
}

function start() {
  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = $("token").value.trim().replace(/^Bearer\s+/i, "");
    if (!token) {
      showFieldError("token", "Paste your access token first.");
      $("token").focus();
      return;
    }
    await signIn(token);
  });
  $("sign-out").addEventListener("click", () => {
    signOut();
    if (embedded) postToParent({ type: "byok-keys:signed-out" });
  });
  $("key-form").addEventListener("submit", saveKey);
  $("provider").addEventListener("change", () => {
    showFieldError("api-key", "");
    updateEditor();
  });
  for (const radio of document.querySelectorAll('input[name="scope"]')) radio.addEventListener("change", updateEditor);
  $("api-key").addEventListener("input", () => {
    if ($("api-key").hasAttribute("aria-invalid") && !checkKey($("provider").value, $("api-key").value)) {
      showFieldError("api-key", "");
    }
  });
  $("confirm-cancel").addEventListener("click", () => {
    state.removing = null;
    $("confirm").close("cancel");
  });
  $("confirm-remove").addEventListener("click", removeConfirmed);
  $("confirm").addEventListener("close", () => {
    state.removing = null;
  });
  if (embedded) {
    window.addEventListener("message", onEmbedMessage);
    $("sign-in-waiting").hidden = false;
    postToParent({ type: "byok-keys:ready" });
  }
  loadFormats();
  document.documentElement.dataset.ready = "true";
}

start();
