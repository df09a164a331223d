// The names the registry's paths are made of, as 2.8.2 accepts them:
// repository names and tags. layout.ts parses paths with them; the scan and
// the selection rules check names with them.

// Repository names: the reference grammar (distribution/reference) as
// Debian's 2.8.2 serves it on the filesystem driver. Lowercase path
// components joined by '/', at most 255 characters in all; the first
// component may instead be a domain: letters of either case, digits and
// '-', dot-separated (`Foo/bar`, `Example.COM/team/app`), only when more
// components follow. The grammar's optional `:port` is left out: 2.8.2's
// filesystem driver refuses every path holding ':' ("invalid path"), so it
// can neither write, serve nor garbage-collect `localhost:5000/x` (checked
// by test/hostile/names-accepted.test.ts). No component can be empty, `.`
// or `..`, or hold a separator or NUL.
const NAME_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
export const MAX_NAME_LENGTH = 255;

export function isNameComponent(component: string): boolean {
  return NAME_COMPONENT.test(component);
}

export function isRepositoryName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return false;
  const [first, ...rest] = name.split('/');
  if (first === undefined || (!isNameComponent(first) && !(rest.length > 0 && DOMAIN_COMPONENT.test(first)))) return false;
  return rest.every(isNameComponent);
}

export function isTagName(tag: string): boolean {
  return TAG.test(tag);
}
