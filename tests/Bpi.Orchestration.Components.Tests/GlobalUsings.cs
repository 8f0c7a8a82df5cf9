global using Bpi.Orchestration;
global using Bpi.Orchestration.Hardening;
