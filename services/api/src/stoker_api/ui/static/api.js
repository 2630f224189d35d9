// The public /v1 API: the key this tab holds, who it belongs to, requests and their errors.

const API = "../v1"; // the page is served at /ui/: relative, so it follows any path prefix
const KEY_STORE = "stoker.apiKey";

let caller = null; // the answer of /v1/whoami for the key in use; null while none is accepted

export class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const storedKey = () => sessionStorage.getItem(KEY_STORE);
export const keepKey = (key) => sessionStorage.setItem(KEY_STORE, key);
export const currentCaller = () => caller;

export async function signIn() {
  caller = await api("/whoami");
  return caller;
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_STORE);
  caller = null;
}

export function isUnauthorized(err) {
  return err instanceof ApiFailure && err.status === 401;
}

export function describe(err) {
  return err instanceof ApiFailure ? `${err.code}: ${err.message}` : String(err);
}

function authHeaders() {
  const key = storedKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function failure(response) {
  const body = await response.json().catch(() => null);
  const error = (body && body.error) || {};
  return new ApiFailure(response.status, error.code || `http_${response.status}`, error.message || response.statusText);
}

export async function api(path, method = "GET") {
  const response = await fetch(`${API}${path}`, { method, headers: { Accept: "application/json", ...authHeaders() } });
  if (!response.ok) throw await failure(response);
  return response.json();
}

// EventSource cannot send an Authorization header, so a stream is read with fetch.
export async function openStream(path, signal) {
  const response = await fetch(`${API}${path}`, {
    headers: { Accept: "text/event-stream", ...authHeaders() },
    signal,
  });
  if (!response.ok) throw await failure(response);
  return response.body.pipeThrough(new TextDecoderStream()).getReader();
}

export const jobPath = (id) => `/jobs/${encodeURIComponent(id)}`;
