/**
 * Checks a request against GitHub's published OpenAPI description (`@octokit/openapi`), so an
 * HTTP mock cannot drift from the real API: the method and path must name a documented
 * operation, required parameters must be present, unknown query parameters are refused, and a
 * JSON body must satisfy the operation's request-body schema.
 *
 * The description is 13 MB: it is read once per worker, and body validators are compiled on first
 * use and cached.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Record<string, unknown>;
}
type ParameterOrRef = Parameter | { $ref: string };

interface Operation {
  operationId: string;
  parameters?: ParameterOrRef[];
  requestBody?: { required?: boolean; content: Record<string, unknown> };
}

interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { parameters: Record<string, Parameter> };
}

export interface DocumentedOperation {
  /** As the description writes it: `/repos/{owner}/{repo}/check-runs`. */
  template: string;
  method: string;
  operationId: string;
  /** Path parameters, URL-decoded. */
  params: Record<string, string>;
}

interface CompiledTemplate {
  template: string;
  regex: RegExp;
  names: string[];
  literalSegments: number;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;

// ajv-formats is CommonJS with a default export; under NodeNext the default may sit one level down.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

let loaded: {
  spec: OpenApiDocument;
  templates: Map<string, CompiledTemplate[]>;
  ajv: Ajv;
  bodyValidators: Map<string, ValidateFunction>;
  paramValidators: Map<string, ValidateFunction>;
} | null = null;

function load(): NonNullable<typeof loaded> {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
  const spec = JSON.parse(readFileSync(file, 'utf8')) as OpenApiDocument;
  const templates = new Map<string, CompiledTemplate[]>();
  for (const [template, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      if (!item[method]) continue;
      const list = templates.get(method) ?? [];
      list.push(compileTemplate(template));
      templates.set(method, list);
    }
  }
  // More literal segments first: `/repos/{o}/{r}/issues/comments` beats `/repos/{o}/{r}/issues/{n}`.
  for (const list of templates.values()) list.sort((a, b) => b.literalSegments - a.literalSegments);
  // Formats the description uses beyond JSON Schema's are not checked (and not warned about).
  const quiet = { log: () => undefined, warn: () => undefined, error: console.error };
  const ajv = new Ajv({ strict: false, validateSchema: false, allErrors: true, logger: quiet });
  addFormats(ajv);
  ajv.addFormat('repo.nwo', /^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/);
  ajv.addSchema(spec as unknown as Record<string, unknown>, 'spec');
  loaded = { spec, templates, ajv, bodyValidators: new Map(), paramValidators: new Map() };
  return loaded;
}

function compileTemplate(template: string): CompiledTemplate {
  const names: string[] = [];
  let literalSegments = 0;
  const source = template
    .split('/')
    .map((segment) => {
      if (!segment.includes('{')) {
        if (segment) literalSegments++;
        return escapeRegex(segment);
      }
      return segment
        .split(/(\{[^}]+\})/)
        .map((part) => {
          const name = /^\{([^}]+)\}$/.exec(part)?.[1];
          if (!name) return escapeRegex(part);
          names.push(name);
          return '([^/]+)';
        })
        .join('');
    })
    .join('/');
  return { template, regex: new RegExp(`^${source}$`), names, literalSegments };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The documented operation for `method` + `path` (path without the API prefix), or null. */
export function findOperation(method: string, path: string): DocumentedOperation | null {
  const { spec, templates } = load();
  const lower = method.toLowerCase();
  for (const compiled of templates.get(lower) ?? []) {
    const match = compiled.regex.exec(path);
    if (!match) continue;
    const params: Record<string, string> = {};
    compiled.names.forEach((name, i) => (params[name] = safeDecode(match[i + 1] ?? '')));
    const operation = spec.paths[compiled.template]?.[lower];
    if (!operation) continue;
    return {
      template: compiled.template,
      method: lower,
      operationId: operation.operationId,
      params,
    };
  }
  return null;
}

/** Is `template` (with `{name}` placeholders) a documented path for `method`? */
export function isDocumentedTemplate(method: string, template: string): boolean {
  const { spec } = load();
  return Boolean(spec.paths[template]?.[method.toLowerCase()]);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export interface RequestToCheck {
  method: string;
  /** Path below the API base, starting with `/`, without the query string. */
  path: string;
  query: URLSearchParams;
  /** Parsed JSON body, raw text, or undefined when the request had none. */
  body: unknown;
  contentType: string | null;
}

export interface CheckOutcome {
  operation: DocumentedOperation | null;
  problems: string[];
}

/** Every way the request departs from the description; an empty list means it conforms. */
export function checkRequest(request: RequestToCheck): CheckOutcome {
  const operation = findOperation(request.method, request.path);
  const label = `${request.method.toUpperCase()} ${request.path}`;
  if (!operation) {
    return { operation: null, problems: [`${label} is not a documented GitHub REST operation`] };
  }
  const { spec } = load();
  const op = spec.paths[operation.template]?.[operation.method];
  if (!op) return { operation, problems: [`${label}: operation vanished from the description`] };
  const problems: string[] = [];
  const parameters = (op.parameters ?? []).map(resolveParameter);
  const queryParameters = new Map(
    parameters.filter((p) => p.in === 'query').map((p) => [p.name, p]),
  );
  for (const parameter of parameters) {
    if (parameter.in === 'query' && parameter.required && !request.query.has(parameter.name)) {
      problems.push(`${label}: required query parameter "${parameter.name}" is missing`);
    }
  }
  for (const [name, value] of request.query) {
    const parameter = queryParameters.get(name);
    if (!parameter) {
      problems.push(
        `${label}: query parameter "${name}" is not documented for ${operation.operationId}`,
      );
      continue;
    }
    const errors = validateParameter(operation, parameter, value);
    if (errors)
      problems.push(`${label}: query parameter "${name}"=${JSON.stringify(value)} ${errors}`);
  }
  problems.push(...checkBody(label, operation, op, request));
  return { operation, problems };
}

function resolveParameter(parameter: ParameterOrRef): Parameter {
  if (!('$ref' in parameter)) return parameter;
  const name = parameter.$ref.split('/').pop() ?? '';
  const resolved = load().spec.components.parameters[name];
  if (!resolved) throw new Error(`OpenAPI description: unresolved parameter ${parameter.$ref}`);
  return resolved;
}

function validateParameter(
  operation: DocumentedOperation,
  parameter: Parameter,
  raw: string,
): string | null {
  if (!parameter.schema) return null;
  const state = load();
  const key = `${operation.operationId}?${parameter.name}`;
  let validate = state.paramValidators.get(key);
  if (!validate) {
    validate = state.ajv.compile(parameter.schema);
    state.paramValidators.set(key, validate);
  }
  const value = coerceQueryValue(raw, parameter.schema);
  return validate(value) ? null : formatErrors(validate.errors);
}

// Query values are strings on the wire; the description types them, so convert before validating.
function coerceQueryValue(raw: string, schema: Record<string, unknown>): unknown {
  if ((schema.type === 'integer' || schema.type === 'number') && /^-?\d+(\.\d+)?$/.test(raw))
    return Number(raw);
  if (schema.type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
  if (schema.type === 'array') return raw.split(',');
  return raw;
}

function checkBody(
  label: string,
  operation: DocumentedOperation,
  op: Operation,
  request: RequestToCheck,
): string[] {
  const hasBody = request.body !== undefined && request.body !== '';
  if (!op.requestBody) {
    return hasBody && operation.method !== 'get' && operation.method !== 'delete'
      ? [`${label}: ${operation.operationId} takes no request body, but one was sent`]
      : [];
  }
  if (!hasBody) {
    return op.requestBody.required
      ? [`${label}: ${operation.operationId} requires a request body`]
      : [];
  }
  if (!op.requestBody.content['application/json']) return [];
  if (typeof request.body === 'string') {
    return [`${label}: the body is not JSON (content-type ${request.contentType ?? 'none'})`];
  }
  const validate = bodyValidator(operation);
  if (validate(request.body)) return [];
  return [
    `${label}: body does not match ${operation.operationId}: ${formatErrors(validate.errors)}`,
  ];
}

function bodyValidator(operation: DocumentedOperation): ValidateFunction {
  const state = load();
  const key = `${operation.method} ${operation.template}`;
  const cached = state.bodyValidators.get(key);
  if (cached) return cached;
  const pointer = operation.template.replace(/~/g, '~0').replace(/\//g, '~1');
  const validate = state.ajv.compile({
    $ref: `spec#/paths/${pointer}/${operation.method}/requestBody/content/application~1json/schema`,
  });
  state.bodyValidators.set(key, validate);
  return validate;
}

function formatErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors?.length) return 'is invalid';
  return errors
    .slice(0, 5)
    .map(
      (error) =>
        `${error.instancePath ? `${error.instancePath} ` : ''}${error.message ?? 'is invalid'}${describeParams(error)}`,
    )
    .join('; ');
}

function describeParams(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  if ('additionalProperty' in params) return ` (${String(params.additionalProperty)})`;
  if ('allowedValues' in params) return ` (${JSON.stringify(params.allowedValues)})`;
  return '';
}
