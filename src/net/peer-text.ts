/**
 * Text a network peer controls (a HELO name, an envelope address, a reason it sent), made fit
 * for a log line: cut to {@link PEER_TEXT_CHARS} characters and marked as cut, so that a peer
 * cannot fill the log, or push the facts out of a line, with what it says.
 */

/** Longest peer text a log line carries: a whole host name or address fits, a flood does not. */
export const PEER_TEXT_CHARS = 200;

/** `text` as it may be logged: at most {@link PEER_TEXT_CHARS} characters, then `…` when cut. */
export function clipPeerText(text: string, max = PEER_TEXT_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
