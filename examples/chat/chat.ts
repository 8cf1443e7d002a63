/**
 * What the chat server calls back on every participant.
 *
 * @module
 */

/** A chat participant's listener, served by the participant itself. */
export interface ChatListener {
  /** Someone joined. */
  joined(nick: string): unknown;
  /** Someone said something. */
  message(nick: string, text: string): unknown;
  /** Someone left. */
  left(nick: string): unknown;
}
