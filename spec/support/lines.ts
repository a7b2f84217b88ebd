/**
 * Realistic CyberTrace detection lines for integration tests, each unique by `n` so that
 * every line is its own alert (sourceRef hashes the line).
 */
const CATEGORIES = ['KL_Malicious_URL', 'KL_BotnetCnC_URL', 'KL_IP_Reputation', 'KL_Malicious_Hash_MD5', 'KL_Phishing_URL'] as const;

/** One detection line in the documented `%Date% category=… matchedIndicator=…%RecordContext%` shape. */
export function detectionLine(n: number): string {
  const category = CATEGORIES[n % CATEGORIES.length] as string;
  const host = `host${n}.example-bad.test`;
  switch (category) {
    case 'KL_IP_Reputation': {
      const ip = `198.51.${(n >> 8) & 255}.${n & 255}`;
      return `Oct 12 16:18:20 category=KL_IP_Reputation matchedIndicator=${ip} url=- src=10.0.${(n >> 8) & 255}.${n & 255} ip=${ip} md5=- sha1=- sha256=- usrName=- ip=${ip} threat_score=${50 + (n % 50)} category=malware first_seen=21.01.2015 00:00 popularity=1 ip_geo=es users_geo=us, de`;
    }
    case 'KL_Malicious_Hash_MD5': {
      const md5 = n.toString(16).padStart(32, 'a').toUpperCase();
      return `Oct 12 16:20:33 category=KL_Malicious_Hash_MD5 matchedIndicator=${md5} url=- src=10.20.8.146 ip=- md5=${md5.toLowerCase()} sha1=- sha256=- usrName=user${n} MD5=${md5} file_size=477257 popularity=1 threat=HEUR:Trojan.Script.Generic`;
    }
    default:
      return `Oct 12 16:14:02 category=${category} matchedIndicator=${host} url=http://${host}/path?id=${n}&x=1 src=10.20.1.44 ip=- md5=- sha1=- sha256=- usrName=jsmith mask=${host} type=1 first_seen=10.07.2015 23:53 popularity=5 threat=HEUR:Trojan.Script.Generic geo=vn, in, mx`;
  }
}

/** `count` distinct lines starting at `from`, each with its trailing newline. */
export function detectionLines(count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => `${detectionLine(from + i)}\n`);
}
