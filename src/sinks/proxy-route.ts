/**
 * Which proxy, if any, carries the requests to TheHive (`thehive.proxy`): none (""), the URL
 * given, or with `env` what `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and `NO_PROXY` say for
 * `thehive.url`, read as curl and most Node clients read them (proxy-from-env). The answer is
 * fixed at start: `thehive.url` is one host, so one route serves every request.
 */
import { getProxyForUrl } from 'proxy-from-env';
import { BridgeError } from '../errors.js';
import { redactUrl } from '../config-secrets.js';

/** The proxy URL for requests to `target`, or undefined to go directly. Throws when `env` gives a proxy that is no http(s) URL. */
export function proxyFor(setting: string, target: string): string | undefined {
  if (setting === '') return undefined;
  if (setting !== 'env') return setting;
  const proxy = getProxyForUrl(target);
  if (proxy === '') return undefined;
  let url: URL | undefined;
  try {
    url = new URL(proxy);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    const variable = target.startsWith('https:') ? 'HTTPS_PROXY' : 'HTTP_PROXY';
    throw new BridgeError('ERR_CONFIG_INVALID', `thehive.proxy is env and ${variable} (or ALL_PROXY) gives ${JSON.stringify(redactUrl(proxy))} for ${redactUrl(target)}, which is no http(s) proxy URL. Set it to a URL such as http://proxy.example:3128, add the host to NO_PROXY, or set THEHIVE_PROXY to the proxy itself.`);
  }
  return proxy;
}
