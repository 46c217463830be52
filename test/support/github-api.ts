/**
 * A GitHub REST API mock for tests, on nock. It fails loudly:
 * - no network: `nock.disableNetConnect()`, loopback still allowed (local servers in tests);
 * - every request is checked against GitHub's OpenAPI description (method + path documented,
 *   required and known query parameters, JSON body schema) — see `github-openapi.ts`;
 * - a request no mock answers, or one that breaks the description, is answered 400/501 *and*
 *   recorded, so `assertDone()` fails the test even when the code under test swallowed the error;
 * - a mock never used fails `assertDone()`.
 * Every request is recorded (`requests`), so tests and benchmarks can count API calls.
 *
 *     const gh = githubApi({ baseUrl: 'https://ghe.example.com/api/v3' });
 *     gh.on('POST', '/repos/{owner}/{repo}/check-runs', 201, (req) => ({ id: 1, ...req.body }));
 *     …
 *     gh.assertDone(); // also closes; or use `useGitHubApi()` in a describe block
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { afterEach, beforeEach } from 'vitest';
import { checkRequest, findOperation, isDocumentedTemplate } from './github-openapi.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
const METHODS: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'];

export interface RecordedRequest {
  method: HttpMethod;
  /** Below the API base URL, starting with `/`, still URL-encoded, without the query string. */
  path: string;
  url: string;
  query: Record<string, string>;
  /** Parsed JSON, raw text, or undefined when the request had no body. */
  body: unknown;
  headers: Record<string, string>;
  /** The documented operation, when the request named one. */
  operationId: string | null;
  template: string | null;
  /** Path parameters, URL-decoded (`{ owner: 'o', repo: 'r', issue_number: '7' }`). */
  params: Record<string, string>;
  /** The status the mock answered with. */
  status: number;
  /** `Date.now()` when the request arrived. */
  at: number;
}

export interface MockReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface MockOptions {
  /** How many requests this mock answers (default 1). */
  times?: number;
  /** Answer any number of requests; it must still be used at least once unless `optional`. */
  persist?: boolean;
  /** The mock may go unused without failing `assertDone()`. */
  optional?: boolean;
  /** Response headers (e.g. `retry-after`, `link`). */
  headers?: Record<string, string>;
  /** Only requests whose query has these values. */
  query?: Record<string, string>;
  /** Extra condition on the request (body content, headers). */
  match?: (request: RecordedRequest) => boolean;
}

/** A JSON value to answer with, or a function of the request that returns one. */
export type MockBody =
  ((request: RecordedRequest) => unknown) | object | string | number | boolean | null;

interface Mock {
  method: HttpMethod;
  path: string;
  template: string;
  params: Record<string, string>;
  options: MockOptions;
  respond: (request: RecordedRequest) => MockReply;
  used: number;
}

export interface GitHubApiMock {
  /** The base URL the code under test must use (`https://api.github.com` unless given). */
  readonly baseUrl: string;
  /** Every request received, in order, including unexpected ones. */
  readonly requests: readonly RecordedRequest[];
  /** Unexpected requests and description violations seen so far. */
  readonly problems: readonly string[];
  /** Answer `method path` with `status` and `body` (a value, or a function of the request). */
  on(
    method: HttpMethod,
    path: string,
    status: number,
    body?: MockBody,
    options?: MockOptions,
  ): GitHubApiMock;
  /** Answer with full control over status, body and headers. */
  reply(
    method: HttpMethod,
    path: string,
    respond: (request: RecordedRequest) => MockReply,
    options?: MockOptions,
  ): GitHubApiMock;
  /** Recorded requests, optionally only those of one method and documented path template. */
  requestsTo(method?: HttpMethod, template?: string): RecordedRequest[];
  /** Mocks that still expect requests. */
  pending(): string[];
  /** Throw if a request was unexpected or broke the description, or a mock went unused; then close. */
  assertDone(): void;
  /** Remove this mock's interceptors (idempotent). */
  close(): void;
}

export interface GitHubApiOptions {
  /** `https://api.github.com` (default), a GHE base (`https://ghe.example.com/api/v3`) or `http://127.0.0.1:PORT`. */
  baseUrl?: string;
}

const active = new Set<GitHubApiState>();
let noMatchListenerInstalled = false;

interface GitHubApiState {
  origin: string;
  problems: string[];
}

function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === '127.0.0.1' || name === 'localhost' || name === '::1';
}

interface NoMatchRequest {
  method?: string;
  href?: string;
  host?: string;
  hostname?: string;
  path?: string;
  proto?: string;
  protocol?: string;
  options?: NoMatchRequest;
}

// A request to a host nobody mocks is refused by nock; record it so the test fails even if the
// code under test caught the connection error. nock passes URL-like options for hosts it never
// saw and a ClientRequest (options under `.options`) for hosts it has a scope for.
function installNoMatchListener(): void {
  if (noMatchListenerInstalled) return;
  noMatchListenerInstalled = true;
  nock.emitter.on('no match', (req: NoMatchRequest) => {
    const options = req.options ?? req;
    const host = options.hostname ?? options.host ?? '';
    if (isLoopback(host)) return;
    const protocol = (options.protocol ?? options.proto ?? 'https').replace(/:$/, '');
    const href = options.href ?? `${protocol}://${host}${options.path ?? ''}`;
    for (const state of active) {
      if (href.startsWith(state.origin)) continue; // our own interceptor already recorded it
      state.problems.push(
        `unexpected request to a host nothing mocks: ${req.method ?? options.method ?? '?'} ${href}`,
      );
    }
  });
}

export function githubApi(options: GitHubApiOptions = {}): GitHubApiMock {
  const core = createMockCore(options.baseUrl ?? 'https://api.github.com');
  nock.disableNetConnect();
  nock.enableNetConnect(isLoopback);
  installNoMatchListener();
  active.add(core.state);

  const scope = nock(core.origin).persist();
  const interceptors = METHODS.map((method) => {
    const interceptor = scope.intercept(() => true, method).query(true);
    interceptor.reply(function (this: nock.ReplyFnContext, uri: string, body: nock.Body) {
      const reply = core.handle(method, uri, parseBody(body), this.req.headers);
      return [reply.status, reply.body, reply.headers] as const;
    });
    return interceptor;
  });

  return core.api(() => {
    for (const interceptor of interceptors) nock.removeInterceptor(interceptor);
    active.delete(core.state);
    if (active.size === 0) nock.enableNetConnect();
  });
}

/**
 * The same mock as a real HTTP server on 127.0.0.1, for code in another process (the bundled
 * action, `probot run`): point it at `baseUrl` with GITHUB_API_URL or GHE_HOST/GHE_PROTOCOL.
 * `prefix` serves a GitHub Enterprise layout (`/api/v3`).
 */
export async function githubApiServer(options: { prefix?: string } = {}): Promise<GitHubApiMock> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const core = createMockCore(`http://127.0.0.1:${port}${options.prefix ?? ''}`);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = (req.method ?? 'GET').toUpperCase() as HttpMethod;
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [
          k,
          Array.isArray(v) ? v.join(', ') : (v ?? ''),
        ]),
      );
      const text = Buffer.concat(chunks).toString('utf8');
      const reply = core.handle(method, req.url ?? '/', parseBody(text), headers);
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body);
    });
  });
  return core.api(() => {
    server.closeAllConnections();
    server.close();
  });
}

interface MockCore {
  origin: string;
  state: GitHubApiState;
  handle(
    method: HttpMethod,
    uri: string,
    body: unknown,
    headers: Record<string, string>,
  ): { status: number; body: string; headers: Record<string, string> };
  api(release: () => void): GitHubApiMock;
}

function createMockCore(baseUrlInput: string): MockCore {
  const base = new URL(baseUrlInput);
  const prefix = base.pathname.replace(/\/+$/, '');
  const baseUrl = `${base.origin}${prefix}`;
  const state: GitHubApiState = { origin: base.origin, problems: [] };
  const requests: RecordedRequest[] = [];
  const mocks: Mock[] = [];

  function handle(method: HttpMethod, uri: string, body: unknown, headers: Record<string, string>) {
    const url = new URL(uri, base.origin);
    const recorded: RecordedRequest = {
      method,
      path: url.pathname,
      url: url.href,
      query: Object.fromEntries(url.searchParams),
      body,
      headers,
      operationId: null,
      template: null,
      params: {},
      status: 0,
      at: Date.now(),
    };
    requests.push(recorded);
    const label = `${method} ${url.pathname}${url.search}`;
    if (prefix && !url.pathname.startsWith(`${prefix}/`)) {
      return answer(recorded, 501, mockError(`${label} is outside the API base ${baseUrl}`));
    }
    recorded.path = url.pathname.slice(prefix.length);
    const check = checkRequest({
      method,
      path: recorded.path,
      query: url.searchParams,
      body: recorded.body,
      contentType: headers['content-type'] ?? null,
    });
    if (check.operation) {
      recorded.operationId = check.operation.operationId;
      recorded.template = check.operation.template;
      recorded.params = check.operation.params;
    }
    if (check.problems.length > 0) {
      return answer(recorded, 400, mockError(check.problems.join('\n')));
    }
    const mock = mocks.find((candidate) => matches(candidate, recorded));
    if (!mock) {
      const hint = describeMocks(method, recorded.template);
      return answer(
        recorded,
        501,
        mockError(`unexpected request ${label} (${recorded.operationId})${hint}`),
      );
    }
    mock.used++;
    const reply = mock.respond(recorded);
    recorded.status = reply.status;
    return {
      status: reply.status,
      body: reply.body === undefined ? '' : JSON.stringify(reply.body),
      headers: {
        ...(reply.body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
        ...mock.options.headers,
        ...reply.headers,
      },
    };
  }

  function answer(recorded: RecordedRequest, status: number, message: string) {
    recorded.status = status;
    state.problems.push(message);
    return {
      status,
      body: JSON.stringify({ message }),
      headers: { 'content-type': 'application/json' },
    };
  }

  function describeMocks(method: HttpMethod, template: string | null): string {
    const same = mocks.filter((m) => m.method === method && m.template === template);
    if (same.length === 0) return '';
    return `; mocks for that operation: ${same.map((m) => `${m.path} (used ${m.used}/${limit(m)})`).join(', ')}`;
  }

  function addMock(
    method: HttpMethod,
    path: string,
    respond: (request: RecordedRequest) => MockReply,
    mockOptions: MockOptions,
  ): void {
    const resolved = resolveMockPath(method, path);
    mocks.push({ method, path, ...resolved, options: mockOptions, respond, used: 0 });
  }

  function api(release: () => void): GitHubApiMock {
    let closed = false;
    const mock: GitHubApiMock = {
      baseUrl,
      requests,
      problems: state.problems,
      on(method, path, status, body, mockOptions = {}) {
        addMock(
          method,
          path,
          (request) => ({
            status,
            body:
              typeof body === 'function'
                ? (body as (r: RecordedRequest) => unknown)(request)
                : body,
          }),
          mockOptions,
        );
        return mock;
      },
      reply(method, path, respond, mockOptions = {}) {
        addMock(method, path, respond, mockOptions);
        return mock;
      },
      requestsTo(method, template) {
        return requests.filter(
          (r) =>
            (method === undefined || r.method === method) &&
            (template === undefined || r.template === template),
        );
      },
      pending() {
        return mocks
          .filter((m) => !m.options.optional && m.used === 0)
          .map((m) => `${m.method} ${m.path} (never requested)`)
          .concat(
            mocks
              .filter((m) => !m.options.persist && m.used > 0 && m.used < limit(m))
              .map((m) => `${m.method} ${m.path} (requested ${m.used} of ${limit(m)} times)`),
          );
      },
      assertDone() {
        const failures = [...state.problems, ...mock.pending().map((p) => `unused mock: ${p}`)];
        mock.close();
        if (failures.length > 0) {
          throw new Error(`GitHub API mock (${baseUrl}):\n- ${failures.join('\n- ')}`);
        }
      },
      close() {
        if (closed) return;
        closed = true;
        release();
      },
    };
    return mock;
  }

  return { origin: base.origin, state, handle, api };
}

/** One mock per test in a describe block: created before each test, asserted and closed after it. */
export function useGitHubApi(options: GitHubApiOptions = {}): () => GitHubApiMock {
  let current: GitHubApiMock | null = null;
  beforeEach(() => {
    current = githubApi(options);
  });
  afterEach(() => {
    const mock = current;
    current = null;
    mock?.assertDone();
  });
  return () => {
    if (!current) throw new Error('useGitHubApi(): the mock exists only inside a test');
    return current;
  };
}

function limit(mock: Mock): number {
  return mock.options.persist ? Infinity : (mock.options.times ?? 1);
}

function matches(mock: Mock, request: RecordedRequest): boolean {
  if (mock.method !== request.method || mock.template !== request.template) return false;
  if (mock.used >= limit(mock)) return false;
  for (const [name, value] of Object.entries(mock.params)) {
    if (isPlaceholder(value)) continue;
    if (request.params[name] !== value) return false;
  }
  for (const [name, value] of Object.entries(mock.options.query ?? {})) {
    if (request.query[name] !== value) return false;
  }
  return mock.options.match ? mock.options.match(request) : true;
}

function isPlaceholder(value: string): boolean {
  return /^\{[^}]+\}$/.test(value);
}

// A mock must name a documented operation, so mocks cannot drift from the API either.
function resolveMockPath(
  method: HttpMethod,
  path: string,
): { template: string; params: Record<string, string> } {
  if (path.includes('{') && isDocumentedTemplate(method, path)) {
    return { template: path, params: {} };
  }
  const operation = findOperation(method, path);
  if (!operation) {
    throw new Error(`githubApi: mock ${method} ${path} is not a documented GitHub REST operation`);
  }
  return { template: operation.template, params: operation.params };
}

function parseBody(body: nock.Body | undefined): unknown {
  if (body === '' || body === undefined || body === null) return undefined;
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}

function mockError(message: string): string {
  return `[github-api mock] ${message}`;
}
