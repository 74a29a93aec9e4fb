// One sample of each secret shape the redaction covers (workers/redact.ts), in the context it is
// usually found in. `secret` is what must never reach the stream; `kind` what replaces it. The
// values are made up (shaped like real ones, none of them valid).

export interface SecretSample {
  kind: string;
  /** Text as a tool or a message would carry it. */
  text: string;
  /** The part that must not be published. */
  secret: string;
}

const plain = (x: string) => `here it is: ${x} (keep it safe)`;
const s = (kind: string, secret: string, around = plain): SecretSample => ({ kind, secret, text: around(secret) });
const AWS_FILE = (x: string) =>
  "Command failed: cat ~/.aws/credentials\n[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n" +
  `aws_secret_access_key = ${x}\n`;
const RSA_KEY = (x: string) =>
  `-----BEGIN RSA PRIVATE KEY-----\n${x}\nT1mR5kL0pW7yB2cD4fG6hJ9sA1eU3iO5uY7tR9==\n-----END RSA PRIVATE KEY-----\n`;
const OPENSSH = "-----BEGIN OPENSSH PRIVATE KEY-----";
const JWT = [
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
  "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFsaWNlIn0",
  "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
].join(".");

export const SECRET_SAMPLES: SecretSample[] = [
  s("openai-key", "sk-proj-Zq3vN8xT1mR5kL0pW7yB2cD4fG6hJ9sA1eU3iO5uY7tR9"),
  // the assignment names it: api-key, not openai-key
  s("api-key", "sk-4fG6hJ9sA1eU3iO5uY7tR9Zq3vN8xT1mR5kL0pW7yB2cD", (x) => `OPENAI_API_KEY=${x}`),
  s("anthropic-key", "sk-ant-api03-Xy7Zq3vN8xT1mR5kL0pW7yB2cD4fG6hJ9sA1eU3iO5uY7tR9-AbCdEf"),
  s("github-token", "ghp_R5kL0pW7yB2cD4fG6hJ9sA1eU3iO5uY7tR9Zq"),
  s("github-token", "gho_16C7e42F292c6912E7710c838347Ae178B4a"),
  s("github-token", "github_pat_11ABCDEFG0a1b2c3d4e5f6_ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210abcdefghijklmnop"),
  s("slack-token", "xoxb-2847561039-9182736450123-Zq3vN8xT1mR5kL0pW7yB2cD4"),
  s("slack-token", "xoxp-2847561039-9182736450-1234567890123-ab12cd34ef56ab12cd34ef56ab12cd34"),
  s("stripe-key", "sk_live_51HqZ3vN8xT1mR5kL0pW7yB2cD4fG6hJ9"),
  s("google-api-key", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"),
  s("aws-access-key-id", "AKIAIOSFODNN7EXAMPLE"),
  s("aws-access-key-id", "ASIAY34FZKBOKMUTVV7A"),
  s("aws-secret-key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", AWS_FILE),
  s("bearer-token", "eM9xT1mR5kL0pW7yB2cD4fG6hJ9sA1e", (x) => `curl -H "Authorization: Bearer ${x}" https://x.example`),
  s("bearer-token", "tok3nV4lu3-ab12cd34ef56gh78ij90", (x) => `request failed, sent bearer ${x} to the proxy`),
  s("basic-auth", "YWxpY2U6czNjcmV0LXBhc3N3b3Jk", (x) => `GET / HTTP/1.1\r\nHost: in\r\nAuthorization: Basic ${x}\r\n`),
  s("private-key", "MIIEowIBAAKCAQEAz3vN8xT1mR5kL0pW7yB2cD4fG6hJ9sA1eU3iO5uY7tR9Zq3vN8x", RSA_KEY),
  // a key cut off by truncation: no END line
  s("private-key", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW", (x) => `${OPENSSH}\n${x}`),
  s("jwt", JWT, (x) => `session cookie: ${x}`),
  s("url-password", "Tr0ub4dor-and-3", (x) => `connecting to postgres://app:${x}@db.internal:5432/prod`),
  s("password", "hunter2-correct-horse", (x) => `export DB_PASSWORD=${x}`),
  s("password", "pa ss with spaces", (x) => `mysql --user=root password='${x}'`),
  s("token", "9f8e7d6c5b4a39281706f5e4d3c2b1a0", (x) => `GITHUB_TOKEN=${x} gh pr list`),
  s("secret", "c0ffee-cafe-babe-f00d", (x) => `client_secret=${x}&grant_type=client_credentials`),
  s("api-key", "k-9f8e7d6c5b4a39281706", (x) => `https://maps.example.com/tile?api_key=${x}&z=3`),
  s("password", "yaml-s3cret-pw", (x) => `database:\n  host: db\n  password: ${x}\n`),
  s("password", "json-in-text-pw", (x) => `config dump: {"user": "app", "password": "${x}"}`),
  s("telegram-bot-token", "7093328456:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-8s", (x) => `bot token is ${x}`),
];
