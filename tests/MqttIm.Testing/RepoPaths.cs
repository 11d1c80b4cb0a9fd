using System.Reflection;

namespace MqttIm.Testing;

/// <summary>Where the repository and the built broker are, found from the running test assembly.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release, matching the build the tests run from.</summary>
    public static string Configuration { get; } =
        typeof(RepoPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    /// <summary>The built broker; <c>MQTTIM_BROKER_DLL</c> points elsewhere (a copy of an earlier build, for before/after benchmark runs).</summary>
    public static string BrokerDll => Environment.GetEnvironmentVariable("MQTTIM_BROKER_DLL") is { Length: > 0 } path
        ? path
        : Path.Combine(Root, "src", "Broker", "bin", Configuration, "net10.0", "MqttIm.Broker.dll");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MqttIm.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("MqttIm.sln not found above " + AppContext.BaseDirectory);
    }
}
