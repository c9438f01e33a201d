/**
 * The typed client for the gateway's admin API, generated from its OpenAPI document
 * (`lib/api/schema.d.ts`, made by `npm run types`). Same origin: the session cookie rides
 * along by itself; every change carries the session's CSRF token in `x-csrf-token`.
 */
import createClient, { type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type ApiClient = ReturnType<typeof createClient<paths>>;

/** An answer that is not 2xx, with the gateway's OpenAI-style message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** Holds the CSRF token of the current session; the client reads it on every change. */
export interface CsrfHolder {
  token: string | null;
}

export function createApi(csrf: CsrfHolder, baseUrl = "", fetchImpl?: typeof fetch): ApiClient {
  const client = createClient<paths>({ baseUrl, credentials: "same-origin", fetch: fetchImpl });
  const addCsrf: Middleware = {
    onRequest({ request }) {
      if (!SAFE.has(request.method) && csrf.token) request.headers.set("x-csrf-token", csrf.token);
      return request;
    },
  };
  client.use(addCsrf);
  return client;
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a 2xx answer, or an ApiError carrying the gateway's message. */
export async function unwrap<T>(pending: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await pending;
  if (response.ok) return data as T;
  throw errorOf(response.status, error);
}

export function errorOf(status: number, body: unknown): ApiError {
  const detail = (body as { error?: { message?: string; code?: string | null } } | undefined)?.error;
  return new ApiError(status, detail?.message ?? `The gateway answered ${status}.`, detail?.code ?? null);
}
