"""One way to compare DNs (kiosk/backend/dn.py), used by eligibility, the AD
adapter and kiosk check: RDN by RDN, never by splitting text on commas."""

from kiosk.backend.dn import dn_key, is_within


def test_an_escaped_comma_is_part_of_a_value_not_a_separator():
    assert not is_within("CN=eve,OU=Guests\\,OU=Staff,DC=corp,DC=example", "OU=Staff,DC=corp,DC=example")
    assert not is_within("CN=eve,OU=Guests\\2COU=Staff,DC=corp,DC=example", "OU=Staff,DC=corp,DC=example")


def test_case_and_spaces_around_separators_do_not_count():
    assert is_within("CN=eve, OU=Staff ,DC=Corp,DC=example", "ou=staff,dc=corp,dc=EXAMPLE")
    assert dn_key("CN=A B,DC=x") == dn_key("cn=a b , dc=X")


def test_a_domain_is_within_itself_but_not_strictly():
    assert is_within("DC=corp,DC=example", "DC=corp,DC=example")
    assert not is_within("DC=corp,DC=example", "DC=corp,DC=example", strictly=True)


def test_a_suffix_of_text_is_not_a_parent():
    # "DC=xcorp" ends with the text "corp,DC=example" but is another domain.
    assert not is_within("CN=eve,DC=xcorp,DC=example", "corp,DC=example")
    assert not is_within("CN=eve,DC=xcorp,DC=example", "DC=corp,DC=example")
