/** Types of proxy-from-env (it ships none): the one function tracehive uses. */
declare module 'proxy-from-env' {
  /** The proxy URL for `url` from HTTP(S)_PROXY/ALL_PROXY (either case), or "" when none or NO_PROXY matches. */
  export function getProxyForUrl(url: string | URL): string;
}
