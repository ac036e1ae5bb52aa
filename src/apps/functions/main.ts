// The Function App's entry point (package.json "main" of the deployed package points here, compiled).
// Kept apart from app.ts so tests can import the registration without the Functions runtime.
import { register } from './app';

register((require('@azure/functions') as { app: Parameters<typeof register>[0] }).app);
