namespace Bpi.Orchestration.Kubernetes; internal static class Placeholder { }
