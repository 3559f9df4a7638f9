import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { locale } from './lib/i18n';
import { mark } from './lib/api';

mark('script');
document.documentElement.lang = locale;
const app = mount(App, { target: document.getElementById('app')! });
mark('mounted');

export default app;
