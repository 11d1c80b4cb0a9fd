namespace MqttIm.PushBridge.Vendors;

/// <summary>Reads a credential from a file or an environment variable. Only where it came from is ever reported, never its value.</summary>
internal static class SecretSource
{
    public static string Read(string path, string environmentVariable, string what)
    {
        if (path.Length > 0)
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : throw new InvalidOperationException($"{what}: file '{path}' does not exist");
        }

        if (environmentVariable.Length > 0)
        {
            return Environment.GetEnvironmentVariable(environmentVariable) is { Length: > 0 } value
                ? value.Trim()
                : throw new InvalidOperationException($"{what}: environment variable '{environmentVariable}' is not set");
        }

        throw new InvalidOperationException($"{what}: set a file path or an environment variable name");
    }
}
