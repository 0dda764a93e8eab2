// The page's one way to call the server: the dev token from the URL fragment, and answers that never throw.

const TOKEN_KEY = "tes-dev-token";

/** Take `#token=` from the address (PROFILES.md, DEV-AUTH) into sessionStorage and strip it from the bar. */
export function adoptToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  }
  return getToken();
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

let refused = false;

/** Drop a token the server refused (401: it makes a new one at each start); the controls lock again. */
export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  refused = true;
  document.dispatchEvent(new CustomEvent("tes-token"));
}

/** Why the controls are locked, or "" when a token is at hand. */
export function lockReason() {
  if (getToken()) return "";
  const how = "open the dashboard URL that `tes-contract serve` prints (dashboard: http://HOST:PORT/#token=…)";
  return refused ? `Locked: the server refused the dev token (a new one is made at each start); ${how}.`
    : `Locked: no dev token; ${how}.`;
}

/**
 * One HTTP call; resolves to {status, ok, body, headers, error}. status 0: no answer (network, timeout).
 * `auth` adds `Authorization: Bearer` (state-changing and sensitive routes); `raw` keeps the body a Blob.
 */
export async function call(path, { method = "GET", body, auth = false, raw = false, timeoutMs = 10000 } = {}) {
  const headers = {};
  if (auth) headers.Authorization = `Bearer ${getToken()}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(path, {
      method, headers, cache: "no-store", signal: controller.signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let parsed = null;
    if (raw && response.ok) parsed = await response.blob();
    else if (response.status !== 204) parsed = await response.json().catch(() => null);
    if (response.status === 401 && auth) forgetToken();
    return { status: response.status, ok: response.ok, body: parsed, headers: response.headers, error: null };
  } catch (error) {
    const reason = error.name === "AbortError" ? `no answer within ${timeoutMs / 1000} s` : "no answer (server unreachable)";
    return { status: 0, ok: false, body: null, headers: new Headers(), error: reason };
  } finally {
    clearTimeout(timer);
  }
}

/** The server's answer in words: "409: session exists — pick another name", or why there was none. */
export function describe(result) {
  if (result.status === 0) return result.error;
  const body = result.body && typeof result.body === "object" && !(result.body instanceof Blob) ? result.body : {};
  const parts = [String(result.status)];
  if (typeof body.error === "string") parts.push(`: ${body.error}`);
  if (typeof body.resolution === "string") parts.push(` — ${body.resolution}`);
  return parts.join("");
}
