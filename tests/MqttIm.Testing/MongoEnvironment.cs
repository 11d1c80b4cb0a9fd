namespace MqttIm.Testing;

/// <summary>
/// MongoDB cannot be installed on the machines here, so MongoDB tests run only against a server named by the
/// <c>MONGODB_URI</c> environment variable. Test classes that need it carry <c>[Trait("Category", "MongoDB")]</c>;
/// <c>scripts/test.sh</c> filters them out and says so in the summary when the variable is unset.
/// </summary>
public static class MongoEnvironment
{
    public const string Category = "MongoDB";

    public static string? Uri => Environment.GetEnvironmentVariable("MONGODB_URI") is { Length: > 0 } uri ? uri : null;

    /// <summary>The URI, or an exception that says why the test cannot run (reached only when the filter was bypassed).</summary>
    public static string RequireUri() =>
        Uri ?? throw new InvalidOperationException("MONGODB_URI is not set: MongoDB tests need a real MongoDB server (no mock stands in for it).");

    /// <summary>A database name unique to one test, so runs never see each other's data.</summary>
    public static string UniqueDatabaseName() => "mqttim_test_" + Guid.NewGuid().ToString("N")[..12];
}
