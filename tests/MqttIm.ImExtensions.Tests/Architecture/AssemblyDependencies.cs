using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace MqttIm.ImExtensions.Tests.Architecture;

/// <summary>
/// Which namespaces each type of an assembly uses, read from its metadata with System.Reflection.Metadata: base types,
/// interfaces, fields, method and property signatures, attributes, locals, and every type or member a method body names.
/// </summary>
/// <remarks>
/// Nested types (lambdas' closures, async state machines) count for the type they are declared in, so code in a lambda
/// belongs to the method that wrote it.
/// </remarks>
internal sealed class AssemblyDependencies
{
    private static readonly Dictionary<short, OperandType> OperandTypes = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value, o => o.OperandType);

    private readonly MetadataReader _reader;
    private readonly PEReader _pe;
    private readonly NamespaceCollector _collector;

    private AssemblyDependencies(PEReader pe)
    {
        _pe = pe;
        _reader = pe.GetMetadataReader();
        _collector = new NamespaceCollector();
    }

    /// <summary>One entry per type that uses something: the type's full name, its namespace, and the namespaces it uses.</summary>
    public IReadOnlyList<(string Type, string Namespace, IReadOnlySet<string> Uses)> Types { get; private set; } = [];

    public static AssemblyDependencies Read(Assembly assembly)
    {
        using var stream = File.OpenRead(assembly.Location);
        using var pe = new PEReader(stream);
        var dependencies = new AssemblyDependencies(pe);
        dependencies.Types = dependencies.ReadTypes();
        return dependencies;
    }

    private List<(string, string, IReadOnlySet<string>)> ReadTypes()
    {
        var byOuterType = new Dictionary<TypeDefinitionHandle, HashSet<string>>();
        foreach (var handle in _reader.TypeDefinitions)
        {
            var outer = Outermost(handle);
            if (!byOuterType.TryGetValue(outer, out var uses))
            {
                byOuterType[outer] = uses = [];
            }

            CollectType(handle, uses);
        }

        return byOuterType
            .Select(entry =>
            {
                var type = _reader.GetTypeDefinition(entry.Key);
                var ns = _reader.GetString(type.Namespace);
                return (ns + "." + _reader.GetString(type.Name), ns, (IReadOnlySet<string>)entry.Value);
            })
            .ToList();
    }

    private TypeDefinitionHandle Outermost(TypeDefinitionHandle handle)
    {
        while (true)
        {
            var declaring = _reader.GetTypeDefinition(handle).GetDeclaringType();
            if (declaring.IsNil)
            {
                return handle;
            }

            handle = declaring;
        }
    }

    private void CollectType(TypeDefinitionHandle handle, HashSet<string> uses)
    {
        var type = _reader.GetTypeDefinition(handle);
        AddHandle(type.BaseType, uses);
        foreach (var implementation in type.GetInterfaceImplementations())
        {
            AddHandle(_reader.GetInterfaceImplementation(implementation).Interface, uses);
        }

        AddAttributes(type.GetCustomAttributes(), uses);
        AddGenericConstraints(type.GetGenericParameters(), uses);
        foreach (var fieldHandle in type.GetFields())
        {
            var field = _reader.GetFieldDefinition(fieldHandle);
            uses.UnionWith(field.DecodeSignature(_collector, null));
            AddAttributes(field.GetCustomAttributes(), uses);
        }

        foreach (var propertyHandle in type.GetProperties())
        {
            var property = _reader.GetPropertyDefinition(propertyHandle);
            AddMethodSignature(property.DecodeSignature(_collector, null), uses);
            AddAttributes(property.GetCustomAttributes(), uses);
        }

        foreach (var eventHandle in type.GetEvents())
        {
            AddHandle(_reader.GetEventDefinition(eventHandle).Type, uses);
        }

        foreach (var methodHandle in type.GetMethods())
        {
            var method = _reader.GetMethodDefinition(methodHandle);
            AddMethodSignature(method.DecodeSignature(_collector, null), uses);
            AddAttributes(method.GetCustomAttributes(), uses);
            AddGenericConstraints(method.GetGenericParameters(), uses);
            foreach (var parameter in method.GetParameters())
            {
                AddAttributes(_reader.GetParameter(parameter).GetCustomAttributes(), uses);
            }

            if (method.RelativeVirtualAddress != 0)
            {
                AddBody(_pe.GetMethodBody(method.RelativeVirtualAddress), uses);
            }
        }
    }

    private void AddBody(MethodBodyBlock body, HashSet<string> uses)
    {
        if (!body.LocalSignature.IsNil)
        {
            var locals = _reader.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(_collector, null);
            foreach (var local in locals)
            {
                uses.UnionWith(local);
            }
        }

        var il = body.GetILReader();
        while (il.RemainingBytes > 0)
        {
            short code = il.ReadByte();
            if (code == 0xFE)
            {
                code = unchecked((short)(0xFE00 | il.ReadByte()));
            }

            switch (OperandTypes[code])
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    il.Offset += 1;
                    break;
                case OperandType.InlineVar:
                    il.Offset += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    il.Offset += 8;
                    break;
                case OperandType.InlineSwitch:
                    var targets = il.ReadInt32(); // read first: "Offset += 4 * ReadInt32()" would take Offset before the read
                    il.Offset += 4 * targets;
                    break;
                case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType:
                    AddToken(il.ReadInt32(), uses);
                    break;
                default: // InlineBrTarget, InlineI, ShortInlineR, InlineSig, InlineString: 4 bytes, nothing to follow
                    il.Offset += 4;
                    break;
            }
        }
    }

    private void AddToken(int token, HashSet<string> uses)
    {
        var handle = MetadataTokens.EntityHandle(token);
        switch (handle.Kind)
        {
            case HandleKind.TypeDefinition or HandleKind.TypeReference or HandleKind.TypeSpecification:
                AddHandle(handle, uses);
                break;
            case HandleKind.MethodDefinition:
                var method = _reader.GetMethodDefinition((MethodDefinitionHandle)handle);
                AddHandle(method.GetDeclaringType(), uses);
                break;
            case HandleKind.FieldDefinition:
                AddHandle(_reader.GetFieldDefinition((FieldDefinitionHandle)handle).GetDeclaringType(), uses);
                break;
            case HandleKind.MemberReference:
                var member = _reader.GetMemberReference((MemberReferenceHandle)handle);
                AddMemberParent(member.Parent, uses);
                if (member.GetKind() == MemberReferenceKind.Method)
                {
                    AddMethodSignature(member.DecodeMethodSignature(_collector, null), uses);
                }
                else
                {
                    uses.UnionWith(member.DecodeFieldSignature(_collector, null));
                }

                break;
            case HandleKind.MethodSpecification:
                var spec = _reader.GetMethodSpecification((MethodSpecificationHandle)handle);
                AddToken(MetadataTokens.GetToken(spec.Method), uses);
                foreach (var argument in spec.DecodeSignature(_collector, null))
                {
                    uses.UnionWith(argument);
                }

                break;
        }
    }

    private void AddMemberParent(EntityHandle parent, HashSet<string> uses)
    {
        if (parent.Kind == HandleKind.MethodDefinition)
        {
            AddHandle(_reader.GetMethodDefinition((MethodDefinitionHandle)parent).GetDeclaringType(), uses);
        }
        else if (parent.Kind is HandleKind.TypeDefinition or HandleKind.TypeReference or HandleKind.TypeSpecification)
        {
            AddHandle(parent, uses);
        }
    }

    private void AddHandle(EntityHandle handle, HashSet<string> uses)
    {
        if (handle.IsNil)
        {
            return;
        }

        switch (handle.Kind)
        {
            case HandleKind.TypeDefinition:
                uses.UnionWith(_collector.GetTypeFromDefinition(_reader, (TypeDefinitionHandle)handle, 0));
                break;
            case HandleKind.TypeReference:
                uses.UnionWith(_collector.GetTypeFromReference(_reader, (TypeReferenceHandle)handle, 0));
                break;
            case HandleKind.TypeSpecification:
                uses.UnionWith(_reader.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(_collector, null));
                break;
        }
    }

    private void AddMethodSignature(MethodSignature<ImmutableHashSet<string>> signature, HashSet<string> uses)
    {
        uses.UnionWith(signature.ReturnType);
        foreach (var parameter in signature.ParameterTypes)
        {
            uses.UnionWith(parameter);
        }
    }

    private void AddAttributes(CustomAttributeHandleCollection attributes, HashSet<string> uses)
    {
        foreach (var attribute in attributes)
        {
            AddToken(MetadataTokens.GetToken(_reader.GetCustomAttribute(attribute).Constructor), uses);
        }
    }

    private void AddGenericConstraints(GenericParameterHandleCollection parameters, HashSet<string> uses)
    {
        foreach (var parameter in parameters)
        {
            foreach (var constraint in _reader.GetGenericParameter(parameter).GetConstraints())
            {
                AddHandle(_reader.GetGenericParameterConstraint(constraint).Type, uses);
            }
        }
    }

    /// <summary>Decodes a signature into the set of namespaces of every type it names (generic arguments included).</summary>
    private sealed class NamespaceCollector : ISignatureTypeProvider<ImmutableHashSet<string>, object?>
    {
        public ImmutableHashSet<string> GetTypeFromDefinition(MetadataReader metadata, TypeDefinitionHandle handle, byte rawTypeKind)
        {
            var type = metadata.GetTypeDefinition(handle);
            while (!type.GetDeclaringType().IsNil)
            {
                type = metadata.GetTypeDefinition(type.GetDeclaringType());
            }

            return [metadata.GetString(type.Namespace)];
        }

        public ImmutableHashSet<string> GetTypeFromReference(MetadataReader metadata, TypeReferenceHandle handle, byte rawTypeKind)
        {
            var type = metadata.GetTypeReference(handle);
            while (type.ResolutionScope.Kind == HandleKind.TypeReference)
            {
                type = metadata.GetTypeReference((TypeReferenceHandle)type.ResolutionScope);
            }

            return [metadata.GetString(type.Namespace)];
        }

        public ImmutableHashSet<string> GetTypeFromSpecification(MetadataReader metadata, object? context, TypeSpecificationHandle handle, byte rawTypeKind) =>
            metadata.GetTypeSpecification(handle).DecodeSignature(this, context);

        public ImmutableHashSet<string> GetGenericInstantiation(ImmutableHashSet<string> genericType, ImmutableArray<ImmutableHashSet<string>> typeArguments) =>
            typeArguments.Aggregate(genericType, (all, argument) => all.Union(argument));

        public ImmutableHashSet<string> GetArrayType(ImmutableHashSet<string> elementType, ArrayShape shape) => elementType;

        public ImmutableHashSet<string> GetSZArrayType(ImmutableHashSet<string> elementType) => elementType;

        public ImmutableHashSet<string> GetByReferenceType(ImmutableHashSet<string> elementType) => elementType;

        public ImmutableHashSet<string> GetPointerType(ImmutableHashSet<string> elementType) => elementType;

        public ImmutableHashSet<string> GetPinnedType(ImmutableHashSet<string> elementType) => elementType;

        public ImmutableHashSet<string> GetModifiedType(ImmutableHashSet<string> modifier, ImmutableHashSet<string> unmodifiedType, bool isRequired) => unmodifiedType;

        public ImmutableHashSet<string> GetFunctionPointerType(MethodSignature<ImmutableHashSet<string>> signature) =>
            signature.ParameterTypes.Aggregate(signature.ReturnType, (all, parameter) => all.Union(parameter));

        public ImmutableHashSet<string> GetGenericMethodParameter(object? context, int index) => [];

        public ImmutableHashSet<string> GetGenericTypeParameter(object? context, int index) => [];

        public ImmutableHashSet<string> GetPrimitiveType(PrimitiveTypeCode typeCode) => [];
    }
}
