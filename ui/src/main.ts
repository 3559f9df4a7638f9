import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { locale } from './lib/i18n';
import { mark } from './lib/api';
import { installGlobalErrorHandlers } from './lib/globalErrors';
import { applyTheme } from './lib/savedPreferences';
import { app as state } from './lib/store.svelte';

mark('script');
// The saved theme and language before anything is drawn.
applyTheme(state.preferences.theme);
document.documentElement.lang = locale;
// Nothing fails silently: uncaught errors and unhandled rejections become toasts.
installGlobalErrorHandlers(window, (e, context) => state.report(e, context));
const app = mount(App, { target: document.getElementById('app')! });
mark('mounted');

export default app;
