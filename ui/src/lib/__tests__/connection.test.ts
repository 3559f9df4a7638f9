import { describe, expect, it } from 'vitest';
import { bannerText } from '../connection';
import { createTranslator } from '../i18n';

const en = createTranslator('en');
const zh = createTranslator('zh-CN');

describe('connection banner', () => {
  it('is hidden when online', () => {
    expect(bannerText({ state: 'online' }, en)).toBeNull();
  });

  it('explains offline and connecting', () => {
    expect(bannerText({ state: 'offline' }, en)).toBe('Offline — messages will be sent when you reconnect');
    expect(bannerText({ state: 'connecting' }, en)).toBe('Connecting…');
    expect(bannerText({ state: 'offline' }, zh)).toBe('已离线 — 重新连接后将自动发送消息');
  });

  it('counts down to the next reconnect attempt', () => {
    const s = { state: 'reconnecting', attempt: 2, delayMs: 3000 } as const;
    expect(bannerText(s, en)).toBe('Reconnecting in 3 s (attempt 2)…');
    expect(bannerText(s, en, 1200)).toBe('Reconnecting in 2 s (attempt 2)…');
    expect(bannerText(s, en, 0)).toBe('Reconnecting (attempt 2)…');
    expect(bannerText(s, zh)).toBe('3 秒后重新连接（第 2 次尝试）…');
  });

  it('tells the user to restart when the client failed for good', () => {
    const s = { state: 'failed', reason: 'the connection supervisor panicked' } as const;
    expect(bannerText(s, en)).toContain('Restart');
    expect(bannerText(s, zh)).toContain('重新启动');
  });
});
