import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { SMTP_PORT } from './tests/helpers';

/** The suite's SMTP server, on the port the app sends to (`SMTP_URL`): every mail it accepts
 * is written as a file to `E2E_MAIL_DIR`, where tests read it. */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const dir = process.env.E2E_MAIL_DIR!;
  let received = 0;
  const server = net.createServer((socket) => {
    let buffer = '';
    let inData = false;
    let mail = '';
    socket.write('220 e2e-sink ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let at: number;
      while ((at = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            received += 1;
            fs.writeFileSync(path.join(dir, `${String(received).padStart(6, '0')}.eml`), mail);
            mail = '';
            socket.write('250 queued\r\n');
          } else {
            mail += line + '\n';
          }
          continue;
        }
        const verb = line.split(' ')[0].toUpperCase();
        if (verb === 'DATA') {
          inData = true;
          socket.write('354 go on\r\n');
        } else if (verb === 'QUIT') {
          socket.end('221 bye\r\n');
        } else {
          socket.write(verb === 'EHLO' || verb === 'HELO' ? '250 e2e-sink\r\n' : '250 ok\r\n');
        }
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((ready) => server.listen(SMTP_PORT, '127.0.0.1', ready));
  return () => new Promise((done) => server.close(() => done()));
}
