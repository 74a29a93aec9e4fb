// Test PKI made with openssl in a temporary directory: a CA, a server certificate for 127.0.0.1 and
// localhost signed by it, a client certificate signed by it, and a second CA that signed nothing of
// the server's (the "wrong CA").
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestPki {
  dir: string;
  ca: string;
  wrongCa: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate signed by the wrong CA. */
  strangerCert: string;
  strangerKey: string;
  /** The PEM text of every private key: what must never show up in a log line. */
  privateKeys(): string[];
  dispose(): void;
}

function openssl(dir: string, args: string): void {
  execFileSync("openssl", args.split(" "), { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

const NEW_KEY = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";

function selfSignedCa(dir: string, name: string): void {
  openssl(dir, `req -x509 ${NEW_KEY} -days 2 -subj /CN=${name} -keyout ${name}.key -out ${name}.pem`);
}

function signed(dir: string, name: string, ca: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, `req ${NEW_KEY} -subj /CN=${name} -keyout ${name}.key -out ${name}.csr`);
  const sign = `-CA ${ca}.pem -CAkey ${ca}.key -CAcreateserial -days 2 -extfile ${name}.ext`;
  openssl(dir, `x509 -req -in ${name}.csr ${sign} -out ${name}.pem`);
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "nats-pki-"));
  selfSignedCa(dir, "ca");
  selfSignedCa(dir, "wrong-ca");
  signed(dir, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  signed(dir, "client", "ca", "extendedKeyUsage=clientAuth\n");
  signed(dir, "stranger", "wrong-ca", "extendedKeyUsage=clientAuth\n");
  const p = (f: string) => join(dir, f);
  return {
    dir,
    ca: p("ca.pem"),
    wrongCa: p("wrong-ca.pem"),
    serverCert: p("server.pem"),
    serverKey: p("server.key"),
    clientCert: p("client.pem"),
    clientKey: p("client.key"),
    strangerCert: p("stranger.pem"),
    strangerKey: p("stranger.key"),
    privateKeys: () =>
      ["ca.key", "wrong-ca.key", "server.key", "client.key", "stranger.key"].map((f) => readFileSync(p(f), "utf8")),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
