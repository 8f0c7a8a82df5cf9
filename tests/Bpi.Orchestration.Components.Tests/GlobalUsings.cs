global using Bpi.Orchestration;
global using Xunit;
