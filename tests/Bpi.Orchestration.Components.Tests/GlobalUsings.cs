global using Bpi.Orchestration;
